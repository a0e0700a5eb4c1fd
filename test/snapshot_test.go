// Package test holds the one golden snapshot per stack: a tripwire for
// refactoring, not a specification. Behaviour is asserted beside each
// construct; this only shows that a change altered a template. After a
// deliberate change, review the diff and run `go test ./test -update`.
package test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden snapshots")

// assetHash matches the content hashes CDK puts in asset names and keys.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

func TestSnapshots_OfTheExampleApp(t *testing.T) {
	d, err := config.Load("")
	require.NoError(t, err)
	// The context of cdk.json (its feature flags) is what `cdk synth` applies.
	context := cdkContext(t, "../cdk.json")
	app := stacks.NewApp(awscdk.NewApp(&awscdk.AppProps{Context: &context}), d)
	all := []awscdk.Stack{app.Producer.Stack}
	for _, c := range app.Consumers {
		all = append(all, c.Stack)
	}
	for _, stack := range all {
		name := *stack.StackName()
		t.Run(name, func(t *testing.T) {
			data, err := json.MarshalIndent(cdktest.Synth(t, stack), "", "  ")
			require.NoError(t, err)
			got := assetHash.ReplaceAll(data, []byte("ASSET-HASH"))
			path := filepath.Join("snapshots", name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no snapshot yet: run go test ./test -update")
			assert.JSONEq(t, string(want), string(got), "template changed: review, then go test ./test -update")
		})
	}
}
