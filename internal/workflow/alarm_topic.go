package workflow

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/nag"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// AlarmsPublishSid is the topic policy statement that lets CloudWatch alarms publish.
const AlarmsPublishSid = "CloudWatchAlarmsOfThisAccountPublish"

// ForwardRoleID is the construct ID, under the topic, of the role that
// EventBridge rules publish to the forward topic with.
const ForwardRoleID = "ForwardRole"

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
	Topic awssns.Topic
	// ForwardRole is the role rules publish to the forward topic with; nil
	// until ForwardTo.
	ForwardRole awsiam.Role
	forward     awssns.ITopic
	alarms      []awscloudwatch.Alarm
	rules       []alertRule
}

// alertRule is a rule that alerts through the topic, with its message.
type alertRule struct {
	rule    awsevents.Rule
	message awsevents.RuleTargetInput
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
	nag.Suppress(topic, false, nag.Suppression{
		ID:     "AwsSolutions-SNS2",
		Reason: "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key, and alarm messages carry no lead data.",
	})
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

// Alert makes every event the rule matches publish message (the event
// itself when nil) to the topic, and to the forward topic if any, before or
// after the call: the one way a rule alerts, so that none misses the forward
// topic. The topic is published to with a role of the rule's own, so the
// topic's policy admits no EventBridge rule of any other account.
func (a *AlarmTopic) Alert(rule awsevents.Rule, message awsevents.RuleTargetInput) {
	rule.AddTarget(awseventstargets.NewSnsTopic(a.Topic, &awseventstargets.SnsTopicProps{
		AuthorizeUsingRole: jsii.Bool(true),
		Message:            message,
	}))
	if a.forward != nil {
		rule.AddTarget(a.forwardTarget(message))
	}
	a.rules = append(a.rules, alertRule{rule: rule, message: message})
}

// ForwardTo makes every alarm notified and every rule alerting through this
// topic, before or after the call, also publish to an existing topic (say, a
// central on-call topic of the same region, in any account). That topic's own
// policy must let cloudwatch.amazonaws.com publish from this account (for the
// alarms), and this account (for ForwardRole, the rules'); a topic cannot be
// subscribed to a topic, so forwarding is the only way the rules' messages
// reach it. Call it at most once.
func (a *AlarmTopic) ForwardTo(topic awssns.ITopic) {
	if a.forward != nil {
		validate.Must("AlarmTopic", fmt.Errorf("ForwardTo takes one topic, got %s after %s", *topic.TopicArn(), *a.forward.TopicArn()))
	}
	a.forward = topic
	a.ForwardRole = newForwardRole(a.Topic, topic)
	for _, alarm := range a.alarms {
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
	for _, r := range a.rules {
		r.rule.AddTarget(a.forwardTarget(r.message))
	}
}

// newForwardRole is the role EventBridge publishes to the forward topic with.
// A target in another account needs an execution role in the rule's account
// and a policy on the target that admits it (EventBridge guide,
// eb-service-cross-account: "Specify an execution role", "Attach a resource
// policy to the target"); the same role serves a topic of this account. It
// may only publish to that one topic, and only this account's rules may
// assume it: EventBridge sets aws:SourceAccount to the account of the rule
// (EventBridge guide, cross-service-confused-deputy-prevention and
// eb-use-conditions). The topic's account cannot name the role, whose name
// CloudFormation generates, so it admits this account (README, "Who gets the
// alarms").
func newForwardRole(scope constructs.Construct, forward awssns.ITopic) awsiam.Role {
	return awsiam.NewRole(scope, jsii.String(ForwardRoleID), &awsiam.RoleProps{
		Description: jsii.String("EventBridge rules of this stack publish their alerts to the forward alarm topic with this role."),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Stack_Of(scope).Account()}},
		}),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"PublishToForwardTopic": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("sns:Publish"),
				Resources: &[]*string{forward.TopicArn()},
			})},
		})},
	})
}

// forwardTarget publishes message to the forward topic with ForwardRole.
func (a *AlarmTopic) forwardTarget(message awsevents.RuleTargetInput) awsevents.IRuleTarget {
	return &roleTopicTarget{topicArn: a.forward.TopicArn(), role: a.ForwardRole, message: message}
}

// roleTopicTarget is an SNS target that only names the topic and the role.
// The CDK's SnsTopic target also names the topic as the target resource, and
// Rule.addTarget (aws-cdk-lib 2.275) then refuses a topic imported from
// another account's ARN: "CannotCreateCrossAccountRuleForImportedResource"
// (it would mirror the rule onto an event bus of that account, in a stack of
// this app). EventBridge itself publishes to another account's topic
// directly with the role.
type roleTopicTarget struct {
	topicArn *string
	role     awsiam.IRole
	message  awsevents.RuleTargetInput
}

func (t *roleTopicTarget) Bind(_ interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	return &awsevents.RuleTargetConfig{Arn: t.topicArn, Role: t.role, Input: t.message}
}
