package producer

import (
	"errors"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// AppFlowDeactivatedDetailType is what AppFlow puts on the default bus when it
// turns off a scheduled flow after failures (AppFlow user guide, "Flow
// notifications"); detail.flow-name names the flow, as in every flow event.
const AppFlowDeactivatedDetailType = "AppFlow Scheduled Flow Deactivated"

// FlowAlarmRulesProps configures FlowAlarmRules.
type FlowAlarmRulesProps struct {
	// FlowName is the scheduled flow watched, matched on detail.flow-name.
	FlowName *string
	// Alarms receives the events, e.g. the hand-off's Monitoring.Alarms
	// (and forwards them, if it forwards).
	Alarms *workflow.AlarmTopic
}

// FlowAlarmRules tells the alarm topic when leads stop coming: a run of the
// flow that ends other than successful, and AppFlow deactivating the flow.
// Neither starts the hand-off, so nothing else would notice.
type FlowAlarmRules struct {
	constructs.Construct
	// RunNotSuccessful matches the flow's "AppFlow End Flow Run Report" events
	// whose status is not "Execution Successful".
	RunNotSuccessful awsevents.Rule
	// Deactivated matches the flow's "AppFlow Scheduled Flow Deactivated" events.
	Deactivated awsevents.Rule
}

func (p *FlowAlarmRulesProps) validate() error {
	return errors.Join(
		validate.RequiredStrings(map[string]*string{"FlowName": p.FlowName}),
		validate.NotNil(map[string]any{"Alarms": p.Alarms}))
}

// NewFlowAlarmRules creates both rules on the account's default bus. Each
// publishes the event as it came (flow name, status, error or deactivation
// reason) through Alarms.Alert.
func NewFlowAlarmRules(scope constructs.Construct, id *string, props *FlowAlarmRulesProps) *FlowAlarmRules {
	if props == nil {
		props = &FlowAlarmRulesProps{}
	}
	validate.Must("FlowAlarmRules", props.validate())
	this := constructs.NewConstruct(scope, id)
	rule := func(ruleID, description, detailType string, detail map[string]interface{}) awsevents.Rule {
		detail["flow-name"] = []string{*props.FlowName}
		r := awsevents.NewRule(this, jsii.String(ruleID), &awsevents.RuleProps{
			Description: jsii.String(description),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(AppFlowEventSource),
				DetailType: jsii.Strings(detailType),
				Detail:     &detail,
			},
		})
		props.Alarms.Alert(r, nil)
		return r
	}
	return &FlowAlarmRules{
		Construct: this,
		RunNotSuccessful: rule("RunNotSuccessful", "Alarms when a run of flow "+*props.FlowName+" ends other than successful.",
			AppFlowEndRunDetailType, map[string]interface{}{
				"status": []interface{}{map[string]interface{}{"anything-but": []string{AppFlowSuccessfulRunText}}},
			}),
		Deactivated: rule("Deactivated", "Alarms when AppFlow deactivates flow "+*props.FlowName+" after failures.",
			AppFlowDeactivatedDetailType, map[string]interface{}{}),
	}
}
