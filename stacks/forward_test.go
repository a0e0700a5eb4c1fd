package stacks_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// centralTopic is an on-call topic of a fourth account that the producer and
// the sales consumer forward to; partners forwards to a topic of its own
// account (the example's alarmTopicArn).
const centralTopic = "arn:aws:sns:eu-west-1:444444444444:central-on-call"

// forwardingApp is the example app with every stack forwarding its alarms,
// and the topic each stack forwards to, by stack name (built once, see buildOnce).
func forwardingApp(t *testing.T) (*stacks.App, map[string]string) {
	type forwarding struct {
		app       *stacks.App
		forwardTo map[string]string
	}
	f := buildOnce("forwarding", func() forwarding {
		d, err := config.Load("")
		require.NoError(t, err)
		d.Producer.AlarmTopicArn = centralTopic
		d.Consumers[0].AlarmTopicArn = centralTopic
		require.Equal(t, "arn:aws:sns:eu-west-1:333333333333:on-call", d.Consumers[1].AlarmTopicArn, "the example's partners forward within their account")
		app := stacks.NewApp(awscdk.NewApp(nil), d)
		return forwarding{app, map[string]string{
			*app.Producer.Stack.StackName():     centralTopic,
			*app.Consumers[0].Stack.StackName(): centralTopic,
			*app.Consumers[1].Stack.StackName(): d.Consumers[1].AlarmTopicArn,
		}}
	})
	return f.app, f.forwardTo
}

// forwardRoleID is the logical ID of the one role that publishes to the forward topic.
func forwardRoleID(t *testing.T, tpl cdktest.Template, forward string) string {
	t.Helper()
	var ids []string
	for id, r := range tpl.Resources("AWS::IAM::Role") {
		if strings.Contains(cdktest.JSON(r["Properties"].(map[string]any)["Policies"]), `"Resource":"`+forward+`"`) {
			ids = append(ids, id)
		}
	}
	require.Len(t, ids, 1, "one role publishes to the forward topic")
	return ids[0]
}

// withoutDestination is a rule target without what says where it goes (and
// under which target ID): what is left is the message.
func withoutDestination(target map[string]any) map[string]any {
	out := maps.Clone(target)
	for _, k := range []string{"Arn", "Id", "RoleArn"} {
		delete(out, k)
	}
	return out
}

func TestApp_EveryRuleThatAlertsAlsoPublishesItsMessageToTheForwardTopic(t *testing.T) {
	// GIVEN every stack forwarding to a topic, of another account or of its own
	app, forwardTo := forwardingApp(t)
	// (producer: hand-off and missed-run check failures, failed Marketo run, flow deactivated;
	// consumer: orchestration and unprocessed-run check failures, catalog not refreshed, Glue job failed)
	alerting := map[string]int{}
	for _, stack := range allStacks(app) {
		name := *stack.StackName()
		tpl := cdktest.Synth(t, stack)
		forward := forwardTo[name]
		role := cdktest.JSON(map[string]any{"Fn::GetAtt": []any{forwardRoleID(t, tpl, forward), "Arn"}})
		for ruleID, r := range tpl.Resources("AWS::Events::Rule") {
			var own, forwarded []map[string]any
			for _, target := range r["Properties"].(map[string]any)["Targets"].([]any) {
				target := target.(map[string]any)
				arn := cdktest.JSON(target["Arn"])
				switch {
				case strings.HasPrefix(arn, `{"Ref":`) && tpl.Resources("AWS::SNS::Topic")[target["Arn"].(map[string]any)["Ref"].(string)] != nil:
					own = append(own, target)
				case target["Arn"] == forward:
					forwarded = append(forwarded, target)
				}
			}
			if len(own) == 0 {
				assert.Empty(t, forwarded, "%s %s: forwards what it does not alert", name, ruleID)
				continue
			}
			alerting[name]++
			// WHEN a rule alerts the stack's own topic THEN it also publishes to the forward topic ...
			require.Len(t, own, 1, "%s %s", name, ruleID)
			require.Len(t, forwarded, 1, "%s %s: the forward topic is missing", name, ruleID)
			// ... with the forward role (the topic's owner admits this account) ...
			assert.Equal(t, role, cdktest.JSON(forwarded[0]["RoleArn"]), "%s %s", name, ruleID)
			// ... and the same message as the own topic gets.
			assert.Equal(t, withoutDestination(own[0]), withoutDestination(forwarded[0]), "%s %s", name, ruleID)
		}
	}
	assert.Equal(t, map[string]int{
		*app.Producer.Stack.StackName(): 4, *app.Consumers[0].Stack.StackName(): 4, *app.Consumers[1].Stack.StackName(): 4,
	}, alerting, "rules that alert, per stack")
}

func TestApp_ForwardRoleMayOnlyPublishToTheForwardTopicForThisAccountsRules(t *testing.T) {
	app, forwardTo := forwardingApp(t)
	for _, stack := range allStacks(app) {
		name := *stack.StackName()
		tpl := cdktest.Synth(t, stack)
		id := forwardRoleID(t, tpl, forwardTo[name])
		props := tpl.Resources("AWS::IAM::Role")[id]["Properties"].(map[string]any)
		// THEN EventBridge may assume it, for rules of this account only ...
		assert.JSONEq(t, `{"Version":"2012-10-17","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow",
			"Principal":{"Service":"events.amazonaws.com"},"Condition":{"StringEquals":{"aws:SourceAccount":"`+*stack.Account()+`"}}}]}`,
			cdktest.JSON(props["AssumeRolePolicyDocument"]), name)
		// ... and it may publish to that one topic, and do nothing else.
		assert.JSONEq(t, `[{"PolicyName":"PublishToForwardTopic","PolicyDocument":{"Version":"2012-10-17",
			"Statement":[{"Action":"sns:Publish","Effect":"Allow","Resource":"`+forwardTo[name]+`"}]}}]`,
			cdktest.JSON(props["Policies"]), name)
		assert.Nil(t, props["ManagedPolicyArns"], name)
		for policyID, p := range tpl.Resources("AWS::IAM::Policy") {
			assert.NotContains(t, cdktest.JSON(p["Properties"].(map[string]any)["Roles"]), `"`+id+`"`, "%s %s", name, policyID)
		}
		// AND the stack names it, for the topic's owner to narrow the topic policy to it.
		outputs, _ := tpl["Outputs"].(map[string]any)
		require.Contains(t, outputs, "AlarmForwardRoleArn", name)
		assert.Equal(t, `{"Fn::GetAtt":["`+id+`","Arn"]}`, cdktest.JSON(outputs["AlarmForwardRoleArn"].(map[string]any)["Value"]), name)
	}
}

func TestApp_ForwardingToAnotherAccountsTopicAddsNoCrossAccountEventPlumbing(t *testing.T) {
	// GIVEN the producer forwarding to a topic of another account
	app, _ := forwardingApp(t)
	// THEN the app is still one stack per side: EventBridge publishes to the
	// topic directly with the role, no event bus of that account is involved
	// (besides the stacks, the app holds only the "Tree" that synthesis adds) ...
	var children []string
	for _, c := range *app.Producer.Stack.Node().Scope().Node().Children() {
		if id := *c.Node().Id(); id != "Tree" {
			children = append(children, id)
		}
	}
	require.Len(t, children, 3, children)
	tpl := cdktest.Synth(t, app.Producer.Stack)
	assert.Empty(t, tpl.Resources("AWS::Events::EventBus"))
	// ... and no rule forwards to a bus.
	assert.NotContains(t, cdktest.JSON(tpl.Resources("AWS::Events::Rule")), ":event-bus/")
}
