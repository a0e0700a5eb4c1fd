package consumer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	gluescripts "github.com/leadbridge/leadbridge/glue-scripts"
)

// writeEmbeddedScript writes the filter job script embedded in the module
// into the cloud assembly's asset folder and returns its path, so the asset
// exists wherever the app runs from and whoever imports the module. The
// folder is named by the script's content hash: a second stack, or a second
// synth of the same script, finds the file already there.
func writeEmbeddedScript(scope constructs.Construct) (string, error) {
	sum := sha256.Sum256(gluescripts.FilterLeads)
	dir := filepath.Join(*awscdk.Stage_Of(scope).AssetOutdir(), "leadbridge-glue-"+hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, gluescripts.FilterLeadsFileName)
	if existing, err := os.ReadFile(path); err == nil && string(existing) == string(gluescripts.FilterLeads) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot write the embedded Glue script: %w", err)
	}
	if err := os.WriteFile(path, gluescripts.FilterLeads, 0o644); err != nil {
		return "", fmt.Errorf("cannot write the embedded Glue script: %w", err)
	}
	return path, nil
}
