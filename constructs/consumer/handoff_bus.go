package consumer

import (
	"errors"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
	"github.com/leadbridge/leadbridge/naming"
)

// HandoffBusProps configures a HandoffBus.
type HandoffBusProps struct {
	// EventBusName is fixed: the producer puts events on it by ARN.
	EventBusName *string
	// ProducerAccount alone may put events, and only hand-off events.
	ProducerAccount *string
	// HandoffRoleArn narrows the producer account to its hand-off role.
	HandoffRoleArn *string
	// StateMachine is started with every hand-off event.
	StateMachine awsstepfunctions.IStateMachine
	// ArchiveRetentionDays keeps events for replay.
	// Default: - 30 days.
	ArchiveRetentionDays *float64
}

// HandoffBus receives the producer's hand-off events and starts the orchestration.
type HandoffBus struct {
	constructs.Construct
	EventBus        awsevents.EventBus
	Archive         awsevents.Archive
	Rule            awsevents.Rule
	DeadLetterQueue awssqs.Queue
}

func (p *HandoffBusProps) validate() error {
	errs := []error{
		validate.RequiredStrings(map[string]*string{"EventBusName": p.EventBusName, "ProducerAccount": p.ProducerAccount, "HandoffRoleArn": p.HandoffRoleArn}),
		ValidateProducerTrust(p.ProducerAccount, p.HandoffRoleArn),
	}
	errs = append(errs, validate.NotNil(map[string]any{"StateMachine": p.StateMachine}))
	if p.ArchiveRetentionDays != nil {
		errs = append(errs, validate.Range("ArchiveRetentionDays", *p.ArchiveRetentionDays, 1, 3650))
	}
	return errors.Join(errs...)
}

// NewHandoffBus creates the bus, its policy, an archive and the rule.
func NewHandoffBus(scope constructs.Construct, id *string, props *HandoffBusProps) *HandoffBus {
	if props == nil {
		props = &HandoffBusProps{}
	}
	validate.Must("HandoffBus", props.validate())
	this := constructs.NewConstruct(scope, id)
	bus := awsevents.NewEventBus(this, jsii.String("Bus"), &awsevents.EventBusProps{EventBusName: props.EventBusName})
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ProducerPutsHandoffEvents"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAccountPrincipal(props.ProducerAccount)},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*bus.EventBusArn()),
		// events:source and events:detail-type are multi-valued keys (one PutEvents call can
		// carry several entries): AWS's cross-account example conditions them with
		// ForAllValues:StringEquals (EventBridge guide,
		// eb-event-bus-example-policy-cross-account-custom-bus-source). A plain StringEquals
		// is denied by the IAM check of the emulated hand-off (test/statemachines/iam_check.py).
		Conditions: &map[string]interface{}{
			"ForAllValues:StringEquals": map[string]interface{}{
				"events:source":      naming.HandoffEventSource,
				"events:detail-type": naming.HandoffDetailType,
			},
			"ArnEquals": map[string]interface{}{"aws:PrincipalArn": *props.HandoffRoleArn},
		},
	}))
	pattern := &awsevents.EventPattern{
		Source:     jsii.Strings(naming.HandoffEventSource),
		DetailType: jsii.Strings(naming.HandoffDetailType),
	}
	retention := props.ArchiveRetentionDays
	if retention == nil {
		retention = jsii.Number(30)
	}
	archive := bus.Archive(jsii.String("Archive"), &awsevents.BaseArchiveProps{
		Description:  jsii.String("Hand-off events, for replay"),
		EventPattern: pattern,
		Retention:    awscdk.Duration_Days(retention),
	})
	// Without a key, CDK renders KmsKeyIdentifier "", which some regions reject
	// with GeneralServiceException (aws/aws-cdk#37847, fix in aws/aws-cdk#37865):
	// absent means the AWS owned key. Remove once the pinned CDK has the fix.
	archive.Node().DefaultChild().(awsevents.CfnArchive).AddPropertyDeletionOverride(jsii.String("KmsKeyIdentifier"))
	target, dlq := workflow.NewEventTarget(this, props.StateMachine)
	rule := awsevents.NewRule(this, jsii.String("Rule"), &awsevents.RuleProps{
		EventBus:     bus,
		Description:  jsii.String("Starts the orchestration for every hand-off from the producer."),
		EventPattern: pattern,
		Targets:      &[]awsevents.IRuleTarget{target},
	})
	return &HandoffBus{Construct: this, EventBus: bus, Archive: archive, Rule: rule, DeadLetterQueue: dlq}
}
