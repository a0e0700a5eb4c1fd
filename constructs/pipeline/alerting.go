package pipeline

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// alerting is where a side's alarms and alerts go: its own topic and, with
// the AlarmTopic prop, that topic too.
type alerting struct {
	// AlarmTopic receives every alarm of the pipeline.
	AlarmTopic awssns.Topic
	// AlarmForwardRole is the role the rules publish to the AlarmTopic prop's
	// topic with; nil without that prop.
	AlarmForwardRole awsiam.Role
	topic            *workflow.AlarmTopic
}

func newAlerting(topic *workflow.AlarmTopic) alerting {
	return alerting{AlarmTopic: topic.Topic, AlarmForwardRole: topic.ForwardRole, topic: topic}
}

// Notify sends an alarm of the app's own to every destination the pattern's
// alarms go to: the pattern's topic (field AlarmTopic) and the AlarmTopic
// prop's topic, if any. An SnsAction on field AlarmTopic reaches the first only.
func (a *alerting) Notify(alarm awscloudwatch.Alarm) {
	a.topic.Notify(alarm)
}

// Alert makes every event a rule of the app's own matches publish message
// (the event itself when nil) wherever the pattern's alerts go, as Notify
// does for alarms.
func (a *alerting) Alert(rule awsevents.Rule, message awsevents.RuleTargetInput) {
	a.topic.Alert(rule, message)
}
