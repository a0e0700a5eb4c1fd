package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets a test run the real main() in a child process, to check its
// exit status and exactly what a user sees.
func TestMain(m *testing.M) {
	if os.Getenv("LEADBRIDGE_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runMain(t *testing.T, configPath string) (string, int) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LEADBRIDGE_RUN_MAIN=1",
		`CDK_CONTEXT_JSON={"config":"`+configPath+`"}`, "CDK_OUTDIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stderr.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return stderr.String(), 0
}

func TestMain_BadConfigPrintsOneLineAndExitsNonZero(t *testing.T) {
	// GIVEN a config whose producer account has 11 digits
	// WHEN the app runs
	stderr, code := runMain(t, "testdata/short-account.json")
	// THEN it exits 1 with one line naming the file, the key and the value, and no trace
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{`leadbridge: testdata/short-account.json: producer.account must be a 12-digit AWS account id, got "11111111111"`},
		ourLines(stderr))
	assert.NotContains(t, stderr, "goroutine")
}

func TestMain_MissingConfigFileIsReported(t *testing.T) {
	stderr, code := runMain(t, "testdata/nope.json")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "leadbridge: testdata/nope.json: config: open testdata/nope.json: no such file or directory")
}

func TestSplitJoined_FlattensEveryProblemToItsOwnLine(t *testing.T) {
	err := errors.Join(errors.New("a is required"), errors.Join(errors.New("b must be 1"), errors.New("c must be 2")))
	assert.Equal(t, []string{"a is required", "b must be 1", "c must be 2"}, splitJoined(err))
}

// ourLines drops what jsii's Node runtime may print (an end-of-life banner on an old Node).
func ourLines(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "leadbridge:") {
			out = append(out, line)
		}
	}
	return out
}
