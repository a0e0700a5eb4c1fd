package workflow

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AlarmsPublishSid is the topic policy statement that lets CloudWatch alarms publish.
const AlarmsPublishSid = "CloudWatchAlarmsOfThisAccountPublish"

// AlarmTopicProps configures NewAlarmTopic.
type AlarmTopicProps struct {
	// Email is subscribed to the topic; the address must confirm the
	// subscription before anything is delivered. Default: - no subscription.
	Email *string
}

// AlarmTopic is an SNS topic that CloudWatch alarms can actually publish to.
// A rule that targets it publishes with its own role (AuthorizeUsingRole),
// which the topic policy does not need to name.
type AlarmTopic struct {
	Topic   awssns.Topic
	forward awssns.ITopic
	alarms  []awscloudwatch.Alarm
}

// NewAlarmTopic creates the topic with its policy. An AWS::SNS::TopicPolicy
// replaces the topic's default policy, and the CDK's EnforceSSL puts only an
// HTTPS-only Deny in it, so nothing would allow CloudWatch to publish and
// every alarm action would fail (AWS re:Post "cloudwatch-receive-sns-for-alarm-trigger";
// aws-solutions/automated-security-response-on-aws#43). The Allow is for
// this account's alarms in this region, checked with aws:SourceAccount and
// aws:SourceArn (confused deputy), rather than a list of alarm ARNs: an
// alarm added later would otherwise be denied without anyone noticing.
func NewAlarmTopic(scope constructs.Construct, props *AlarmTopicProps) *AlarmTopic {
	topic := awssns.NewTopic(scope, jsii.String(AlarmTopicID), &awssns.TopicProps{EnforceSSL: jsii.Bool(true)})
	stack := awscdk.Stack_Of(scope)
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(AlarmsPublishSid),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()},
			"ArnLike": map[string]interface{}{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String("*"),
				ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(topic, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SNS2"),
		Reason: jsii.String("CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key, and alarm messages carry no lead data."),
	}}, jsii.Bool(false))
	if props == nil {
		props = &AlarmTopicProps{}
	}
	if props.Email != nil {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(props.Email, nil))
	}
	return &AlarmTopic{Topic: topic}
}

// Notify sends the alarm's ALARM state to the topic, and to the forward topic if any.
func (a *AlarmTopic) Notify(alarm awscloudwatch.Alarm) {
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(a.Topic))
	if a.forward != nil {
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(a.forward))
	}
	a.alarms = append(a.alarms, alarm)
}

// ForwardTo makes every alarm notified through this topic, before or after
// the call, also publish to an existing topic (say, a central on-call topic
// of the same region). That topic's own policy must let
// cloudwatch.amazonaws.com publish from this account.
func (a *AlarmTopic) ForwardTo(topic awssns.ITopic) {
	a.forward = topic
	for _, alarm := range a.alarms {
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
}
