package consumer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Construct IDs of the encryption NewLeadsCatalog (and a FilterJob given
// none) creates: changing one replaces the key.
const (
	glueKeyID               = "Key"
	securityConfigurationID = "SecurityConfiguration"
)

// newGlueKey creates the retained, rotated KMS key that encrypts Glue's
// CloudWatch logs and job bookmarks, with the statement that lets CloudWatch
// Logs use it for /aws-glue log groups.
func newGlueKey(scope constructs.Construct, name string) awskms.Key {
	stack := awscdk.Stack_Of(scope)
	key := awskms.NewKey(scope, jsii.String(glueKeyID), &awskms.KeyProps{
		Description:       jsii.String("Encrypts Glue logs and job bookmarks of " + name),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// Glue writes encrypted log events through CloudWatch Logs.
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
	return key
}

// newSecurityConfiguration creates the Glue security configuration named
// name: logs SSE-KMS and bookmarks CSE-KMS with key, S3 output SSE-S3.
func newSecurityConfiguration(scope constructs.Construct, name string, key awskms.IKey) awsglue.CfnSecurityConfiguration {
	return awsglue.NewCfnSecurityConfiguration(scope, jsii.String(securityConfigurationID), &awsglue.CfnSecurityConfigurationProps{
		Name: jsii.String(name),
		EncryptionConfiguration: &awsglue.CfnSecurityConfiguration_EncryptionConfigurationProperty{
			CloudWatchEncryption:   &awsglue.CfnSecurityConfiguration_CloudWatchEncryptionProperty{CloudWatchEncryptionMode: jsii.String("SSE-KMS"), KmsKeyArn: key.KeyArn()},
			JobBookmarksEncryption: &awsglue.CfnSecurityConfiguration_JobBookmarksEncryptionProperty{JobBookmarksEncryptionMode: jsii.String("CSE-KMS"), KmsKeyArn: key.KeyArn()},
			S3Encryptions: &[]interface{}{&awsglue.CfnSecurityConfiguration_S3EncryptionProperty{
				S3EncryptionMode: jsii.String("SSE-S3"),
			}},
		},
	})
}
