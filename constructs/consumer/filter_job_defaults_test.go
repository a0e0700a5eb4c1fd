package consumer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFilterJob_ShipsTheEmbeddedScriptWhenGivenNoPath(t *testing.T) {
	// GIVEN a job with no ScriptPath, security configuration or key, in an app with its own output folder
	outdir := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	stack := cdktest.EnvStack(app, "Sales", "222222222222")
	job := consumer.NewFilterJob(stack, jsii.String("Job"), &consumer.FilterJobProps{
		JobName: jsii.String("j"), Bucket: awss3.NewBucket(stack, jsii.String("Inbox"), nil),
	})
	tpl := cdktest.Synth(t, stack)
	app.Synth(nil)
	// THEN the asset CDK uploads is byte-equal to glue-scripts/filter_leads.py
	want, err := os.ReadFile("../../glue-scripts/filter_leads.py")
	require.NoError(t, err)
	assets, err := filepath.Glob(filepath.Join(outdir, "asset.*.py"))
	require.NoError(t, err)
	require.Len(t, assets, 1)
	got, err := os.ReadFile(assets[0])
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	// AND the job made its own security configuration (named after it) and key
	assert.Equal(t, "j-glue", tpl.Only(t, "AWS::Glue::SecurityConfiguration")["Name"])
	assert.Len(t, tpl.Resources("AWS::KMS::Key"), 1)
	assert.NotNil(t, job.SecurityConfiguration)
	assert.NotNil(t, job.Key)
}

func TestFilterJob_NeedsTheKeyOfAGivenSecurityConfigurationAndAnExistingScript(t *testing.T) {
	stack := cdktest.EnvStack(nil, "Sales", "222222222222")
	inbox := awss3.NewBucket(stack, jsii.String("Inbox"), nil)
	catalog := consumer.NewLeadsCatalog(stack, jsii.String("Catalog"), &consumer.LeadsCatalogProps{Bucket: inbox, Name: jsii.String("c")})
	err := cdktest.Recover(func() {
		consumer.NewFilterJob(stack, jsii.String("Job"), &consumer.FilterJobProps{
			JobName: jsii.String("j"), Bucket: inbox,
			SecurityConfiguration: catalog.SecurityConfiguration, ScriptPath: jsii.String("no/such/script.py"),
		})
	})
	require.Error(t, err)
	assert.Equal(t, "FilterJob: ScriptPath must be an existing file, got \"no/such/script.py\"\n"+
		"Key is required with SecurityConfiguration: the job's role must use the key it encrypts with", err.Error())
}
