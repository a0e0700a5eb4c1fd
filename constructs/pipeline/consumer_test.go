package pipeline_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func salesStack(app awscdk.App) awscdk.Stack {
	return cdktest.EnvStack(app, "Sales", "222222222222")
}

func requiredOnly() *pipeline.ConsumerProps {
	return &pipeline.ConsumerProps{
		Name: jsii.String("sales"), ProducerAccount: jsii.String("111111111111"), SalesforceConnectorProfile: jsii.String("salesforce-sales"),
	}
}

func TestConsumer_BuildsAWholeConsumerFromTheRequiredPropsAlone(t *testing.T) {
	// GIVEN only the required props
	stack := salesStack(awscdk.NewApp(nil))
	sales := pipeline.NewConsumer(stack, jsii.String("Sales"), requiredOnly())
	// WHEN synthesized
	tpl := cdktest.Synth(t, stack)
	// THEN the names both sides derive, the trusted role and every part are there
	bucket := tpl.Resources("AWS::S3::Bucket")
	assert.Contains(t, cdktest.JSON(bucket), `"BucketName":"leadbridge-sales-inbox-222222222222-eu-west-1"`)
	assert.Contains(t, cdktest.JSON(tpl.Resources("AWS::Events::EventBus")), `"Name":"leadbridge-sales-handoff"`)
	assert.Contains(t, cdktest.JSON(tpl.Resources("AWS::S3::BucketPolicy")), `"aws:PrincipalArn":"arn:aws:iam::111111111111:role/leadbridge-handoff"`)
	assert.Len(t, tpl.Resources("AWS::Glue::SecurityConfiguration"), 1, "the job shares the catalog's security configuration")
	for name, part := range map[string]any{
		"Inbox": sales.Inbox, "InboxBucket": sales.InboxBucket, "Catalog": sales.Catalog, "FilterJob": sales.FilterJob,
		"SalesforceFlow": sales.SalesforceFlow, "Orchestration": sales.Orchestration, "OrchestrationStateMachine": sales.OrchestrationStateMachine,
		"HandoffBus": sales.HandoffBus, "Unprocessed": sales.Unprocessed, "Monitoring": sales.Monitoring, "AlarmTopic": sales.AlarmTopic,
	} {
		assert.NotNil(t, part, name)
	}
	assert.Nil(t, sales.AlarmForwardRole, "no AlarmTopic prop, nothing to forward to")
}

func TestConsumer_ReportsEveryMissingPropInOneError(t *testing.T) {
	err := cdktest.Recover(func() { pipeline.NewConsumer(salesStack(awscdk.NewApp(nil)), jsii.String("Sales"), nil) })
	require.Error(t, err)
	assert.Equal(t, "pipeline.Consumer: Name is required\nProducerAccount is required\nSalesforceConnectorProfile is required", err.Error())
}

func TestConsumer_NeedsAStackWithAnExplicitEnvironment(t *testing.T) {
	// GIVEN an environment-agnostic stack: the inbox bucket's name could not carry account and region
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Agnostic"), nil)
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), requiredOnly()) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the stack Agnostic must have an explicit env (awscdk.StackProps.Env with Account and Region)")
}

func TestConsumer_GrantsTheProducerAndAppFlowOnAnExistingInboxBucket(t *testing.T) {
	// GIVEN the app's own bucket as the inbox
	stack := salesStack(awscdk.NewApp(nil))
	own := awss3.NewBucket(stack, jsii.String("Own"), &awss3.BucketProps{EnforceSSL: jsii.Bool(true)})
	props := requiredOnly()
	props.ExistingInboxBucket = own
	sales := pipeline.NewConsumer(stack, jsii.String("Sales"), props)
	tpl := cdktest.Synth(t, stack)
	// THEN no inbox bucket is created and the existing one's policy admits the producer's role and AppFlow
	assert.Nil(t, sales.Inbox)
	assert.Len(t, tpl.Resources("AWS::S3::Bucket"), 1)
	policy := cdktest.JSON(tpl.Resources("AWS::S3::BucketPolicy"))
	for _, sid := range []string{"ProducerHandoffWritesInbox", "AppFlowReadsCurated", "AppFlowWritesErrors"} {
		assert.Contains(t, policy, `"Sid":"`+sid+`"`)
	}
}

func TestConsumer_RefusesAnImportedInboxBucketWhosePolicyItCannotChange(t *testing.T) {
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	props.ExistingInboxBucket = awss3.Bucket_FromBucketName(stack, jsii.String("Imported"), jsii.String("someone-elses"))
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ExistingInboxBucket must be an awss3.Bucket defined in this app, got an imported bucket")
}

func TestConsumer_RefusesNamesThatMakeTheInboxBucketNameTooLong(t *testing.T) {
	props := requiredOnly()
	props.Project, props.Name = jsii.String("leadbridge-marketing"), jsii.String("partnersemea")
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Sydney"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("ap-southeast-2")},
	})
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Name "partnersemea" with Project "leadbridge-marketing" makes the inbox bucket name "leadbridge-marketing-partnersemea-inbox-222222222222-ap-southeast-2" longer than S3's 63 characters`)
}

func TestConsumer_ChecksTheJobsSizingBeforeCreatingAnything(t *testing.T) {
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	props.NumberOfWorkers = jsii.Number(1)
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Equal(t, "pipeline.Consumer: pipeline.Consumer.numberOfWorkers must be a whole number from 2 to 299, got 1", err.Error())
	assert.Empty(t, *stack.Node().Children(), "nothing was created")
}

func TestConsumer_RefusesAHandoffRoleOfAnotherAccountBeforeCreatingAnything(t *testing.T) {
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	props.ExistingInboxBucket = awss3.NewBucket(stack, jsii.String("Own"), nil)
	props.HandoffRoleArn = jsii.String("arn:aws:iam::999999999999:role/leadbridge-handoff")
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `HandoffRoleArn "arn:aws:iam::999999999999:role/leadbridge-handoff" must be a role of ProducerAccount "111111111111"`)
	assert.Len(t, *stack.Node().Children(), 1, "only the app's own bucket")
}

func TestConsumer_RefusesRetentionForABucketItDidNotCreate(t *testing.T) {
	// GIVEN the app's own bucket as the inbox, and a retention for what was sent
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	props.ExistingInboxBucket = awss3.NewBucket(stack, jsii.String("Own"), nil)
	props.SentRetentionDays = jsii.Number(30)
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	// THEN the pattern leaves that bucket's lifecycle to its owner, and says so
	require.Error(t, err)
	assert.Equal(t, "pipeline.Consumer: SentRetentionDays applies to a new inbox bucket only: set the existing bucket's lifecycle instead, got 30", err.Error())
}

func TestConsumer_ChecksRetentionBeforeCreatingAnything(t *testing.T) {
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	props.RefusedRetentionDays = jsii.Number(-1)
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Equal(t, "pipeline.Consumer: RefusedRetentionDays must be a whole number of days from 1 to 36500, got -1", err.Error())
	assert.Empty(t, *stack.Node().Children(), "nothing was created")
}

func TestConsumer_GrantReadAdmitsAnAnalystToS3AndTheKey(t *testing.T) {
	// GIVEN an analyst role of the consumer's account
	stack := salesStack(awscdk.NewApp(nil))
	sales := pipeline.NewConsumer(stack, jsii.String("Sales"), requiredOnly())
	analysts := awsiam.NewRole(stack, jsii.String("Analysts"), &awsiam.RoleProps{AssumedBy: awsiam.NewAccountRootPrincipal()})
	// WHEN granted read on parquet/
	sales.GrantRead(analysts, "parquet/*")
	tpl := cdktest.Synth(t, stack)
	// THEN its policy reads the folder, and the key policy lets it decrypt through S3, for this bucket only
	assert.Contains(t, cdktest.JSON(tpl.Resources("AWS::IAM::Policy")), `/parquet/*`)
	st := tpl.KeyStatements()["ReadAnalysts"]
	require.NotNil(t, st, "a key policy statement for the analysts")
	assert.Equal(t, `"kms:Decrypt"`, cdktest.JSON(st["Action"]))
	assert.Contains(t, cdktest.JSON(st["Principal"]), `Analysts`)
	assert.Contains(t, cdktest.JSON(st["Condition"]), `"kms:ViaService":"s3.eu-west-1.amazonaws.com"`)
}

func TestConsumer_RefusesEncryptionForABucketItDidNotCreate(t *testing.T) {
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	props.ExistingInboxBucket = awss3.NewBucket(stack, jsii.String("Own"), nil)
	props.S3ManagedEncryption = jsii.Bool(true)
	err := cdktest.Recover(func() { pipeline.NewConsumer(stack, jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Equal(t, "pipeline.Consumer: S3ManagedEncryption applies to a new inbox bucket only: an existing bucket keeps its own encryption, got true", err.Error())
}
