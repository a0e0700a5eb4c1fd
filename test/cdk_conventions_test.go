package test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadbridge/leadbridge/internal/cdkflags"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recommendedFlags reads the feature flags `cdk init` writes for the pinned
// aws-cdk-lib, from the library's own package in the Go module cache (the
// jsii tarball the Go bindings load).
func recommendedFlags(t *testing.T) map[string]any {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-cdk-go/awscdk/v2").Output()
	require.NoError(t, err)
	tarballs, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "jsii", "aws-cdk-lib-*.tgz"))
	require.NoError(t, err)
	require.Len(t, tarballs, 1)
	f, err := os.Open(tarballs[0])
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "no recommended-feature-flags.json in %s", tarballs[0])
		if h.Name == "package/recommended-feature-flags.json" {
			data, err := io.ReadAll(tr)
			require.NoError(t, err)
			var flags map[string]any
			require.NoError(t, json.Unmarshal(data, &flags))
			return flags
		}
	}
}

// cdkContext is the context of a cdk.json.
func cdkContext(t *testing.T, path string) map[string]any {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	require.NoError(t, json.Unmarshal(data, &cdk))
	return cdk.Context
}

// cliRecommendedFlags reads the flags `cdk init` writes: the pinned CLI's
// init-templates/.recommended-feature-flags.json.
func cliRecommendedFlags(t *testing.T) map[string]any {
	data, err := os.ReadFile("../node_modules/aws-cdk/lib/init-templates/.recommended-feature-flags.json")
	require.NoError(t, err, "run make deps: the pinned CDK CLI is an npm dependency")
	var flags map[string]any
	require.NoError(t, json.Unmarshal(data, &flags))
	return flags
}

func TestCdkJson_CarriesEveryRecommendedFeatureFlagOfThePinnedCdk(t *testing.T) {
	flags := recommendedFlags(t)
	require.NotEmpty(t, flags)
	for _, path := range []string{"../cdk.json", "../examples/two-accounts/cdk.json"} {
		context := cdkContext(t, path)
		for flag, want := range flags {
			assert.Equal(t, want, context[flag], "%s: %s (the CLI reports unset flags as not configured)", path, flag)
		}
	}
}

func TestCdkFlags_PatternsPinWhatTheCliWritesForThePinnedLibrary(t *testing.T) {
	// GIVEN the flags cdk init writes, and those of the aws-cdk-lib the Go bindings load
	cli, lib := cliRecommendedFlags(t), recommendedFlags(t)
	// THEN they agree, and the patterns pin exactly them (go generate ./internal/cdkflags)
	assert.Equal(t, lib, cli, "the pinned CDK CLI and aws-cdk-lib recommend different flags")
	assert.Equal(t, cli, cdkflags.Recommended(), "internal/cdkflags is stale: run go generate ./internal/cdkflags")
}

func TestApp_SynthesizesWhenStartedFromAnotherDirectory(t *testing.T) {
	// A build and a synthesis in processes of their own: side by side with
	// the pictures' synthesis in this one (the package's longest tests).
	t.Parallel()
	// GIVEN the app built as a binary, started in an empty directory
	bin := filepath.Join(t.TempDir(), "leadbridge")
	build := exec.Command("go", "build", "-o", bin, "../cmd/leadbridge")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	outdir := filepath.Join(t.TempDir(), "cdk.out")
	run := exec.Command(bin)
	run.Dir = t.TempDir()
	run.Env = append(os.Environ(), "CDK_OUTDIR="+outdir)
	// WHEN it synthesizes
	out, err = run.CombinedOutput()
	// THEN every stack and the Glue script asset are in the assembly
	require.NoError(t, err, string(out))
	templates, _ := filepath.Glob(filepath.Join(outdir, "*.template.json"))
	assert.Len(t, templates, 3)
	scripts, _ := filepath.Glob(filepath.Join(outdir, "asset.*.py"))
	assert.Len(t, scripts, 1, "the embedded Glue script, written without a path into the repository")
}
