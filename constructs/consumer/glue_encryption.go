package consumer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Construct IDs of the encryption NewLeadsCatalog (and a FilterJob given
// none) creates: changing one replaces the key.
const (
	glueKeyID               = "Key"
	securityConfigurationID = "SecurityConfiguration"
)

// glueKey is the key Glue encrypts its CloudWatch logs and job bookmarks
// with: the bucket's own key, so that one key guards every copy of a lead in
// the account, or, for an SSE-S3 bucket, a new retained, rotated one.
func glueKey(scope constructs.Construct, bucket awss3.IBucket, name string) awskms.Key {
	key, own := bucket.EncryptionKey().(awskms.Key)
	if !own || key == nil {
		key = awskms.NewKey(scope, jsii.String(glueKeyID), &awskms.KeyProps{
			Description:       jsii.String("Encrypts Glue logs and job bookmarks of " + name),
			EnableKeyRotation: jsii.Bool(true),
			RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		})
	}
	grantGlueLogsUseKey(key)
	return key
}

// grantGlueLogsUseKey lets CloudWatch Logs use the key for the /aws-glue log
// groups: a job or crawler writing encrypted logs needs this in the key
// policy, not in its role's IAM policy (Glue guide, set-up-encryption).
func grantGlueLogsUseKey(key awskms.Key) {
	stack := awscdk.Stack_Of(key)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsUsesKey"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(fmt.Sprintf("logs.%s.amazonaws.com", *stack.Region())), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"ArnLike": map[string]interface{}{
				"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws-glue/*", *stack.Partition(), *stack.Region(), *stack.Account()),
			},
		},
	}), nil)
}

// securityConfigurationName names the security configuration of name. Glue
// cannot change one (its CloudFormation handlers create and delete, none
// updates), and a replacement keeping its custom name fails, so the one that
// writes S3 with the bucket's key has a name of its own: a stack that had the
// SSE-S3 one gets a new one beside it and deletes the old.
func securityConfigurationName(name string, bucket awss3.IBucket) string {
	if bucket.EncryptionKey() != nil {
		return name + "-glue-kms"
	}
	return name + "-glue"
}

// newSecurityConfiguration creates the Glue security configuration named
// name: logs SSE-KMS and bookmarks CSE-KMS with key, and S3 output with the
// bucket's own key (SSE-KMS), or SSE-S3 when the bucket has none. A security
// configuration "overrides any server-side encryption (SSE-S3) setting that
// is passed as an ETL job parameter" (Glue guide,
// encryption-security-configuration); writes to a bucket whose S3 Bucket Key
// is on use it unless the request turns it off (S3 guide,
// configuring-bucket-key-object), which EMRFS does not.
func newSecurityConfiguration(scope constructs.Construct, name string, key awskms.IKey, bucket awss3.IBucket) awsglue.CfnSecurityConfiguration {
	s3 := &awsglue.CfnSecurityConfiguration_S3EncryptionProperty{S3EncryptionMode: jsii.String("SSE-S3")}
	if k := bucket.EncryptionKey(); k != nil {
		s3 = &awsglue.CfnSecurityConfiguration_S3EncryptionProperty{S3EncryptionMode: jsii.String("SSE-KMS"), KmsKeyArn: k.KeyArn()}
	}
	return awsglue.NewCfnSecurityConfiguration(scope, jsii.String(securityConfigurationID), &awsglue.CfnSecurityConfigurationProps{
		Name: jsii.String(name),
		EncryptionConfiguration: &awsglue.CfnSecurityConfiguration_EncryptionConfigurationProperty{
			CloudWatchEncryption:   &awsglue.CfnSecurityConfiguration_CloudWatchEncryptionProperty{CloudWatchEncryptionMode: jsii.String("SSE-KMS"), KmsKeyArn: key.KeyArn()},
			JobBookmarksEncryption: &awsglue.CfnSecurityConfiguration_JobBookmarksEncryptionProperty{JobBookmarksEncryptionMode: jsii.String("CSE-KMS"), KmsKeyArn: key.KeyArn()},
			S3Encryptions:          &[]interface{}{s3},
		},
	})
}
