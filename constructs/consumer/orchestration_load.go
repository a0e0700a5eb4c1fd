package consumer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// Bounds of the load phase.
const (
	loadPollSeconds = 60
	maxLoadPolls    = 240 // 4 hours of loading into Salesforce (and of record pages)
	maxCancelPolls  = 60  // 1 hour for a cancelled load to finish its batch
	// loadRecordsPage is how many flow runs one DescribeFlowExecutionRecords
	// call returns (API maximum 100): a page stays a few KB of state.
	loadRecordsPage = 20
	// RejectedRowsMetric counts, per Salesforce flow (in
	// workflow.MetricNamespace), the records Salesforce refused in a run that
	// AppFlow may still report Successful.
	RejectedRowsMetric = "RejectedRows"
)

// findOurLoad picks this execution's flow run out of one page of
// DescribeFlowExecutionRecords. The API documents no order of its records
// (AppFlow API reference, DescribeFlowExecutionRecords), so the run is found
// by its execution id, on whichever page it is; the page itself is dropped.
// PutFailuresCount counts the records the destination refused while the run
// may still end Successful (AppFlow API reference, ErrorInfo).
const findOurLoad = `{% (
  $ours := $states.input.loadPage.FlowExecutions[ExecutionId = $states.input.load.executionId][0];
  $merge([$states.input, {
    "loadPage": null,
    "loadStatus": {
      "found": $exists($ours),
      "status": $exists($ours) ? $ours.ExecutionStatus : "NotListed",
      "rejected": $exists($ours.ExecutionResult.ErrorInfo.PutFailuresCount) ? $ours.ExecutionResult.ErrorInfo.PutFailuresCount : 0,
      "recordsProcessed": $exists($ours.ExecutionResult.RecordsProcessed) ? $ours.ExecutionResult.RecordsProcessed : null,
      "nextToken": $exists($states.input.loadPage.NextToken) ? $states.input.loadPage.NextToken : null
    }
  }])
) %}`

// loadIntoSalesforce starts the flow for this run, finds the run among the
// flow's records and waits for it to end. A Successful run goes on to
// settled, with $.loadStatus.rejected the records Salesforce refused. A run
// that outlives its bound is cancelled, and the execution waits for the
// cancellation to settle (a batch API finishes its batch after it, AppFlow API
// change note 2023-05-02) before the failure path releases the lock.
func (o *orchestration) loadIntoSalesforce(settled sfn.IChainable) sfn.IChainable {
	flowArn := *awscdk.Stack_Of(o.scope).FormatArn(&awscdk.ArnComponents{Service: jsii.String("appflow"), Resource: jsii.String("flow"), ResourceName: o.props.SalesforceFlowName})
	start := tasks.NewCallAwsService(o.scope, jsii.String("StartSalesforceLoad"), &tasks.CallAwsServiceProps{
		Service: jsii.String("appflow"),
		Action:  jsii.String("startFlow"),
		Parameters: &map[string]interface{}{
			"FlowName": o.props.SalesforceFlowName,
			// A retried start within this execution returns the same flow
			// execution; a new execution (say, after a failed load) starts a new one.
			"ClientToken": sfn.JsonPath_Format(jsii.String("{}-{}"), sfn.JsonPath_StringAt(jsii.String("$.run.runId")), sfn.JsonPath_StringAt(jsii.String("$$.Execution.Name"))),
		},
		IamResources:   jsii.Strings(flowArn),
		ResultSelector: &map[string]interface{}{"executionId": sfn.JsonPath_StringAt(jsii.String("$.ExecutionId"))},
		ResultPath:     jsii.String("$.load"),
	})
	workflow.Retriable(start)
	o.catch(start)

	describe := func(id string, pageToken bool) tasks.CallAwsService {
		params := map[string]interface{}{"FlowName": o.props.SalesforceFlowName, "MaxResults": loadRecordsPage}
		if pageToken {
			params["NextToken"] = sfn.JsonPath_StringAt(jsii.String("$.loadStatus.nextToken"))
		}
		task := tasks.NewCallAwsService(o.scope, jsii.String(id), &tasks.CallAwsServiceProps{
			Service:      jsii.String("appflow"),
			Action:       jsii.String("describeFlowExecutionRecords"),
			Parameters:   &params,
			IamResources: jsii.Strings(flowArn),
			IamAction:    jsii.String("appflow:DescribeFlowExecutionRecords"),
			ResultPath:   jsii.String("$.loadPage"),
		})
		workflow.Retriable(task)
		o.catch(task)
		return task
	}
	firstPage, nextPage := describe("DescribeSalesforceLoad", false), describe("DescribeNextLoadRecords", true)
	find := sfn.Pass_Jsonata(o.scope, jsii.String("FindOurLoad"), &sfn.PassJsonataProps{Outputs: jsii.String(findOurLoad)})
	countPoll := o.counter("CountLoadPolls", "loadPolls")
	firstPage.Next(countPoll)
	nextPage.Next(countPoll)
	wait := o.wait("WaitForSalesforceLoad", loadPollSeconds)
	wait.Next(firstPage)

	cancel := tasks.NewCallAwsService(o.scope, jsii.String("CancelSalesforceLoad"), &tasks.CallAwsServiceProps{
		Service: jsii.String("appflow"),
		Action:  jsii.String("cancelFlowExecutions"),
		Parameters: &map[string]interface{}{
			"FlowName":     o.props.SalesforceFlowName,
			"ExecutionIds": sfn.JsonPath_Array(sfn.JsonPath_StringAt(jsii.String("$.load.executionId"))),
		},
		IamResources: jsii.Strings(flowArn),
		IamAction:    jsii.String("appflow:CancelFlowExecutions"),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(cancel)
	o.catch(cancel)
	cancel.Next(sfn.NewPass(o.scope, jsii.String("NoteLoadCancelled"), &sfn.PassProps{
		Result: sfn.Result_FromObject(&map[string]interface{}{"count": 0}), ResultPath: jsii.String("$.cancelPolls"),
	})).Next(wait)
	countCancelPoll := o.counter("CountCancelPolls", "cancelPolls")
	countCancelPoll.Next(wait)

	status := func(values ...string) sfn.Condition {
		var c []sfn.Condition
		for _, v := range values {
			c = append(c, sfn.Condition_StringEquals(jsii.String("$.loadStatus.status"), jsii.String(v)))
		}
		return sfn.Condition_Or(c...)
	}
	cancelled := sfn.Condition_IsPresent(jsii.String("$.cancelPolls"))
	countPoll.Next(find).Next(sfn.NewChoice(o.scope, jsii.String("IsLoadDone"), nil).
		When(status("Successful"), settled, nil).
		When(sfn.Condition_And(cancelled, status("Error", "Canceled")),
			o.failWith("LoadCancelled", "The Salesforce flow run outlived its bound and was cancelled; it has stopped. Nothing was moved; see AppFlow's run history and errors/."), nil).
		When(status("Error", "Canceled"),
			o.failWith("LoadFailed", "The Salesforce flow run ended in Error or was canceled; see AppFlow's run history and the errors/ prefix."), nil).
		When(sfn.Condition_And(sfn.Condition_BooleanEquals(jsii.String("$.loadStatus.found"), jsii.Bool(false)),
			sfn.Condition_IsNotNull(jsii.String("$.loadStatus.nextToken"))), nextPage, nil).
		When(sfn.Condition_And(cancelled, sfn.Condition_NumberLessThan(jsii.String("$.cancelPolls.count"), jsii.Number(maxCancelPolls))), countCancelPoll, nil).
		When(cancelled, o.failKeepingLock("LoadNotStopped",
			"The cancelled Salesforce flow run did not stop in time; the run lock stays with this execution. Check AppFlow's run history before another load."), nil).
		When(sfn.Condition_NumberLessThan(jsii.String("$.loadPolls.count"), jsii.Number(maxLoadPolls)), wait, nil).
		Otherwise(cancel))
	return start.Next(wait)
}

// publishRowCount puts the number at valuePath on the flow's metric, which
// an alarm watches: RejectedRows, QuarantinedRows.
func (o *orchestration) publishRowCount(id, metric, valuePath string) tasks.CallAwsService {
	task := metrics.PutFlowCount(o.scope, id, o.props.SalesforceFlowName, metric, valuePath)
	o.catch(task)
	workflow.PutMetricsOnlyInNamespace(o.role)
	return task
}
