// Package cdkflags makes the patterns build the same templates whatever
// feature flags the importing app's cdk.json sets.
//
// CDK reads a feature flag with FeatureFlags.of(construct), which takes the
// nearest context value walking up from that construct to the app (aws-cdk-lib
// core/lib/feature-flags.js; constructs lib/construct.js, tryGetContext). A
// value set with Node.setContext on a construct before it has children holds
// for its whole subtree. So a pattern that calls Pin first builds everything
// under it with the values it is tested with: the recommended ones that
// `cdk init` writes for the pinned CDK. Flags read at the stack (for example
// @aws-cdk/core:enablePartitionLiterals) and resources of the app's own that a
// pattern adds statements to stay the app's.
package cdkflags

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// recommendedJSON is the CLI's init-templates/.recommended-feature-flags.json
// of the pinned CDK CLI (package.json); `go generate` copies it and a test
// fails when the two differ.
//
//go:generate cp ../../node_modules/aws-cdk/lib/init-templates/.recommended-feature-flags.json recommended-feature-flags.json
//go:embed recommended-feature-flags.json
var recommendedJSON []byte

// Recommended returns the flag values `cdk init` writes for the pinned CDK.
func Recommended() map[string]any {
	var flags map[string]any
	if err := json.Unmarshal(recommendedJSON, &flags); err != nil {
		panic(fmt.Sprintf("cdkflags: the embedded recommended-feature-flags.json is not JSON: %v", err))
	}
	return flags
}

// Pin sets every recommended flag on scope, which must have no children yet.
func Pin(scope constructs.Construct) {
	for flag, value := range Recommended() {
		scope.Node().SetContext(jsii.String(flag), value)
	}
}
