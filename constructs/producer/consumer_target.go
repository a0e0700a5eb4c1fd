package producer

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/naming"
)

// NewConsumerTarget derives, with the names a consumer pipeline of the same
// project gives its resources (pipeline.NewConsumer), where the producer
// reaches that consumer.
func NewConsumerTarget(project, name, account, region string) *ConsumerTarget {
	return &ConsumerTarget{
		Name:        name,
		BucketName:  naming.InboxBucketName(project, name, account, region),
		EventBusArn: naming.HandoffBusArn(project, name, account, region),
	}
}

// grantConsumerKeys lets S3 use each consumer's inbox key for the hand-off
// role's copies. The consumer's key policy admits the role; a key of another
// account must also be allowed by the caller's own IAM policy (KMS guide,
// key-policy-modifying-external-accounts). The key's ID is generated in the
// consumer's account and cannot be known here, so the statement names every
// key of that account and region, but only through S3 and only for that
// inbox bucket (its encryption context with an S3 Bucket Key).
func grantConsumerKeys(role awsiam.IRole, consumers []*ConsumerTarget) {
	stack := awscdk.Stack_Of(role)
	for _, c := range consumers {
		// arn:<partition>:events:<region>:<account>:event-bus/<name>; an ARN
		// known only at deploy (a token, which validation lets through) is
		// split by CloudFormation (Fn::Split, Fn::Select) instead.
		arn := awscdk.Arn_Split(jsii.String(c.EventBusArn), awscdk.ArnFormat_SLASH_RESOURCE_NAME)
		partition, region, account := *arn.Partition, *arn.Region, *arn.Account
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("CopiesInto" + strings.ToUpper(c.Name[:1]) + c.Name[1:] + "InboxWithItsKey"),
			Actions:   jsii.Strings("kms:GenerateDataKey"),
			Resources: jsii.Strings(fmt.Sprintf("arn:%s:kms:%s:%s:key/*", partition, region, account)),
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{
				"kms:ViaService":                   fmt.Sprintf("s3.%s.amazonaws.com", *stack.Region()),
				"kms:EncryptionContext:aws:s3:arn": fmt.Sprintf("arn:%s:s3:::%s", partition, c.BucketName),
			}},
		}))
	}
}
