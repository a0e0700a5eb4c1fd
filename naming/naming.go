// Package naming derives the names of resources that one account must know
// about another account's resources. Both the producer and the consumer stacks
// call these functions, so the names cannot drift apart: CloudFormation exports
// do not cross accounts, and a resource policy cannot wait for the other side.
package naming

import (
	"fmt"
	"strings"
)

const (
	// DefaultProject prefixes every derived name when none is given. Producer
	// and consumers must use the same project: consumers trust the hand-off
	// role, and the producer reaches their buckets and buses, by name.
	DefaultProject = "leadbridge"
	// HandoffEventSource is the `source` of every hand-off event a producer puts
	// on a consumer's bus. Consumer bus policies allow only this source.
	HandoffEventSource = "leadbridge.handoff"
	// HandoffDetailType is the `detail-type` of every hand-off event.
	HandoffDetailType = "Leads Handed Off"
	// InboxSourcePrefix is the consumer-bucket prefix the producer writes to,
	// one sub-folder per producer run: inbox/<run id>/<file>.
	InboxSourcePrefix = "inbox/"
)

// Partition returns the AWS partition of a region: regions are validated
// before names are derived, so the commercial partition is the fallback.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// HandoffRoleName is the fixed name of the producer's hand-off state machine
// role. Consumers trust it by name, so either stack can be deployed first.
func HandoffRoleName(project string) string {
	return project + "-handoff"
}

// HandoffRoleArn is the ARN consumers put in their `aws:PrincipalArn` conditions.
func HandoffRoleArn(project, producerAccount, producerRegion string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", Partition(producerRegion), producerAccount, HandoffRoleName(project))
}

// InboxBucketName is the consumer's inbox bucket. Bucket names are global, so
// the name carries the account and region; it stays within S3's 63 characters
// for projects and consumer names that pass configuration validation.
func InboxBucketName(project, consumer, account, region string) string {
	return fmt.Sprintf("%s-%s-inbox-%s-%s", project, consumer, account, region)
}

// HandoffBusName is the consumer's custom event bus that receives hand-offs.
// Bus names are unique per account and region, and two consumers may share
// an account (say, two Salesforce orgs of one sales team): it names the consumer.
func HandoffBusName(project, consumer string) string {
	return fmt.Sprintf("%s-%s-handoff", project, consumer)
}

// HandoffBusArn is the ARN the producer puts a consumer's events on.
func HandoffBusArn(project, consumer, account, region string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", Partition(region), region, account, HandoffBusName(project, consumer))
}

// MarketoFlowName is the producer's AppFlow flow, whose completion event is
// matched by name.
func MarketoFlowName(project string) string {
	return project + "-marketo-leads"
}

// SalesforceFlowName is a consumer's AppFlow flow into Salesforce.
func SalesforceFlowName(project, consumer string) string {
	return fmt.Sprintf("%s-%s-salesforce-leads", project, consumer)
}
