package workflow

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/nag"
)

// DeadLetterQueueID is the construct ID of the queue NewEventTarget creates.
const DeadLetterQueueID = "DeadLetterQueue"

// NewEventTarget starts a state machine from a rule. EventBridge retries a
// failed start for a day; what still fails lands in an encrypted dead-letter
// queue, kept 14 days, so no run is lost silently.
func NewEventTarget(scope constructs.Construct, sm awsstepfunctions.IStateMachine) (awsevents.IRuleTarget, awssqs.Queue) {
	dlq := awssqs.NewQueue(scope, jsii.String(DeadLetterQueueID), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	nag.Suppress(dlq, false, nag.Suppression{
		ID:     "AwsSolutions-SQS3",
		Reason: "This queue is the dead-letter queue of an EventBridge target.",
	})
	target := awseventstargets.NewSfnStateMachine(sm, &awseventstargets.SfnStateMachineProps{
		DeadLetterQueue: dlq,
		RetryAttempts:   jsii.Number(185),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
	})
	return target, dlq
}
