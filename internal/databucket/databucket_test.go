package databucket_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rulesOf(t *testing.T, retention []databucket.Retention) map[string]cdktest.LifecycleRule {
	stack := cdktest.EnvStack(nil, "Test", "111111111111")
	databucket.NewBuckets(stack, &databucket.Props{Retention: retention})
	buckets := cdktest.Synth(t, stack).VersionedBuckets()
	require.Len(t, buckets, 1)
	out := map[string]cdktest.LifecycleRule{}
	for _, b := range buckets {
		for _, r := range cdktest.LifecycleRules(b) {
			out[r.ID] = r
		}
	}
	return out
}

func TestNewBuckets_EndsEveryClassOnCurrentAndNoncurrentVersions(t *testing.T) {
	// GIVEN a class kept a year and one kept a week
	rules := rulesOf(t, []databucket.Retention{
		{Class: databucket.RawRuns, Prefixes: []string{"landing/", "archive/"}, Days: 365},
		{Class: databucket.Reports, Prefixes: []string{"reports/"}, Days: 7},
	})
	// THEN each prefix expires its current versions after the class's days, and the versions
	// they leave behind after 30 days more, or the class's days when fewer
	for id, want := range map[string][2]float64{
		"ExpireRawRuns-landing": {365, 30}, "ExpireRawRuns-archive": {365, 30}, "ExpireReports-reports": {7, 7},
	} {
		rule, ok := rules[id]
		if assert.True(t, ok, "no rule %s in %v", id, rules) {
			assert.Equal(t, want[0], rule.ExpirationInDays, id)
			assert.Equal(t, want[1], rule.NoncurrentVersionExpiration.NoncurrentDays, id)
			assert.Equal(t, "Enabled", rule.Status, id)
		}
	}
	// AND one rule for the whole bucket removes the delete markers expiry leaves behind
	whole := rules["ExpireNoncurrentVersions"]
	assert.Empty(t, whole.Prefix)
	assert.True(t, whole.ExpiredObjectDeleteMarker)
	assert.Equal(t, float64(databucket.RecoveryDays), whole.NoncurrentVersionExpiration.NoncurrentDays)
}

func TestValidateRetention_NamesThePropAndTheValue(t *testing.T) {
	err := databucket.ValidateRetention(map[string]*float64{
		"SentRetentionDays": jsii.Number(0), "RawRunsRetentionDays": jsii.Number(1.5),
		"ReportsRetentionDays": jsii.Number(36501), "RefusedRetentionDays": nil,
	})
	require.Error(t, err)
	assert.Equal(t, "RawRunsRetentionDays must be a whole number of days from 1 to 36500, got 1.5\n"+
		"ReportsRetentionDays must be a whole number of days from 1 to 36500, got 36501\n"+
		"SentRetentionDays must be a whole number of days from 1 to 36500, got 0", err.Error())
	assert.NoError(t, databucket.ValidateRetention(map[string]*float64{"SentRetentionDays": jsii.Number(1)}))
}

// fixedNameBucket synthesizes a KMS data bucket named "lb-inbox" (or one
// CloudFormation names, with name ""), after grant is applied to it.
func fixedNameBucket(t *testing.T, name string, grant func(stack awscdk.Stack, b databucket.Buckets)) cdktest.Template {
	stack := cdktest.EnvStack(nil, "Test", "222222222222")
	props := &databucket.Props{}
	if name != "" {
		props.BucketName = jsii.String(name)
	}
	b := databucket.NewBuckets(stack, props)
	if grant != nil {
		grant(stack, b)
	}
	return cdktest.Synth(t, stack)
}

func TestNewBuckets_EncryptsWithAKeyOfItsOwnAndAnS3BucketKey(t *testing.T) {
	tpl := fixedNameBucket(t, "lb-inbox", nil)
	for _, b := range tpl.VersionedBuckets() {
		enc := cdktest.JSON(b["Properties"].(map[string]any)["BucketEncryption"])
		assert.Contains(t, enc, `"SSEAlgorithm":"aws:kms"`)
		assert.Contains(t, enc, `"BucketKeyEnabled":true`)
		assert.Regexp(t, `"KMSMasterKeyID":\{"Fn::GetAtt":\["Key[0-9A-F]+","Arn"\]\}`, enc, "the full key ARN (S3 API reference, ServerSideEncryptionByDefault: cross-account use needs it)")
	}
	key := cdktest.JSON(tpl.Resources("AWS::KMS::Key"))
	assert.Contains(t, key, `"EnableKeyRotation":true`)
	assert.Contains(t, key, `"DeletionPolicy":"Retain"`)
}

func TestNewDataKey_GivesTheAccountAdministrationAndNoUseOfTheKey(t *testing.T) {
	statements := fixedNameBucket(t, "lb-inbox", nil).KeyStatements()
	require.Len(t, statements, 1, "only the administration statement until a user is admitted")
	admin := statements["AccountAdministersKey"]
	assert.Contains(t, cdktest.JSON(admin["Principal"]), ":iam::222222222222:root")
	for _, action := range admin["Action"].([]any) {
		assert.NotRegexp(t, `^kms:(\*|Decrypt|Encrypt|GenerateDataKey|ReEncrypt)`, action, "an administrator may not decrypt by IAM policy alone")
	}
}

func TestNewBuckets_WithS3ManagedEncryptionCreatesNoKey(t *testing.T) {
	stack := cdktest.EnvStack(nil, "Test", "222222222222")
	b := databucket.NewBuckets(stack, &databucket.Props{S3ManagedEncryption: true})
	assert.Nil(t, b.Key)
	tpl := cdktest.Synth(t, stack)
	assert.Empty(t, tpl.Resources("AWS::KMS::Key"))
	for _, b := range tpl.VersionedBuckets() {
		assert.Contains(t, cdktest.JSON(b["Properties"]), `"SSEAlgorithm":"AES256"`)
	}
}

func TestGrantKeyUse_AdmitsThroughS3ForTheNamedBucketOnly(t *testing.T) {
	statements := fixedNameBucket(t, "lb-inbox", func(stack awscdk.Stack, b databucket.Buckets) {
		databucket.GrantKeyUse(b.Data, "AppFlowReads", databucket.ServiceFor(databucket.AppFlowService, stack), databucket.ReadObjects)
		databucket.GrantKeyUse(b.Data, "ProducerWrites", databucket.RoleOfAccount("111111111111", "arn:aws:iam::111111111111:role/lb-handoff"), databucket.WriteObjects)
	}).KeyStatements()
	appflow := cdktest.JSON(statements["AppFlowReads"])
	assert.Contains(t, appflow, `"Service":"appflow.amazonaws.com"`)
	assert.Contains(t, appflow, `"aws:SourceAccount":"222222222222"`)
	assert.Contains(t, appflow, `"kms:ViaService":"s3.eu-west-1.amazonaws.com"`)
	assert.Contains(t, appflow, `"kms:EncryptionContext:aws:s3:arn":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":s3:::lb-inbox"]]}`)
	assert.Contains(t, appflow, `"Action":"kms:Decrypt"`)
	producer := cdktest.JSON(statements["ProducerWrites"])
	assert.Contains(t, producer, `":iam::111111111111:root"`)
	assert.Contains(t, producer, `"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/lb-handoff"}`)
	assert.Contains(t, producer, `"Action":"kms:GenerateDataKey"`)
}

func TestGrantKeyUse_NamesNoBucketWhoseNameCloudFormationGenerates(t *testing.T) {
	// A key policy referring to the bucket that refers to the key is a circular dependency.
	statements := fixedNameBucket(t, "", func(stack awscdk.Stack, b databucket.Buckets) {
		databucket.GrantKeyUse(b.Data, "AppFlowWrites", databucket.ServiceFor(databucket.AppFlowService, stack), databucket.ReadWrite)
	}).KeyStatements()
	text := cdktest.JSON(statements["AppFlowWrites"])
	assert.Contains(t, text, `"kms:ViaService":"s3.eu-west-1.amazonaws.com"`)
	assert.NotContains(t, text, `Bucket`)
}

func TestGrantKeyUse_DoesNothingForAnSSES3Bucket(t *testing.T) {
	stack := cdktest.EnvStack(nil, "Test", "222222222222")
	b := databucket.NewBuckets(stack, &databucket.Props{S3ManagedEncryption: true})
	databucket.GrantKeyUse(b.Data, "AppFlowReads", databucket.ServiceFor(databucket.AppFlowService, stack), databucket.ReadObjects)
	assert.Empty(t, cdktest.Synth(t, stack).Resources("AWS::KMS::Key"))
}

func TestValidateExisting_RefusesABucketWhoseKeyIsImported(t *testing.T) {
	stack := cdktest.EnvStack(nil, "Test", "222222222222")
	key := awskms.Key_FromKeyArn(stack, jsii.String("Imported"), jsii.String("arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
	bucket := awss3.NewBucket(stack, jsii.String("Own"), &awss3.BucketProps{Encryption: awss3.BucketEncryption_KMS, EncryptionKey: key})
	err := databucket.ValidateExisting("ExistingInboxBucket", bucket)
	require.Error(t, err)
	assert.Equal(t, "ExistingInboxBucket must be encrypted with SSE-S3 or an awskms.Key defined in this app, got the imported key Test/Imported: its key policy cannot take the statements the pipeline needs", err.Error())
}
