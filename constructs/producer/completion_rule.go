package producer

import (
	"errors"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// What AppFlow puts on the default bus when a flow run ends
// (AppFlow user guide, "Flow notifications").
const (
	AppFlowEventSource       = "aws.appflow"
	AppFlowEndRunDetailType  = "AppFlow End Flow Run Report"
	AppFlowSuccessfulRunText = "Execution Successful"
)

// CompletionRuleProps configures a CompletionRule.
type CompletionRuleProps struct {
	// FlowName is matched on detail.flow-name: real events carry an id, not
	// the flow ARN, in `resources`.
	FlowName *string
	// StateMachine is started with the event.
	StateMachine awsstepfunctions.IStateMachine
}

// CompletionRule starts the hand-off when a run of the flow succeeds.
type CompletionRule struct {
	constructs.Construct
	Rule            awsevents.Rule
	DeadLetterQueue awssqs.Queue
}

func (p *CompletionRuleProps) validate() error {
	return errors.Join(
		validate.RequiredStrings(map[string]*string{"FlowName": p.FlowName}),
		validate.NotNil(map[string]any{"StateMachine": p.StateMachine}))
}

// NewCompletionRule creates the rule on the account's default bus.
func NewCompletionRule(scope constructs.Construct, id *string, props *CompletionRuleProps) *CompletionRule {
	if props == nil {
		props = &CompletionRuleProps{}
	}
	validate.Must("CompletionRule", props.validate())
	this := constructs.NewConstruct(scope, id)
	target, dlq := workflow.NewEventTarget(this, props.StateMachine)
	rule := awsevents.NewRule(this, jsii.String("Rule"), &awsevents.RuleProps{
		Description: jsii.String("Starts the hand-off when flow " + *props.FlowName + " ends successfully."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(AppFlowEventSource),
			DetailType: jsii.Strings(AppFlowEndRunDetailType),
			Detail: &map[string]interface{}{
				"flow-name": []string{*props.FlowName},
				"status":    []string{AppFlowSuccessfulRunText},
			},
		},
		Targets: &[]awsevents.IRuleTarget{target},
	})
	return &CompletionRule{Construct: this, Rule: rule, DeadLetterQueue: dlq}
}
