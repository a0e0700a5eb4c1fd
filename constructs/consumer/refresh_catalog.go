package consumer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// The event an orchestration puts on its account's default bus when the
// catalog could not be refreshed; a rule sends it to the alarm topic.
const (
	CatalogEventSource             = "leadbridge.orchestration"
	CatalogNotRefreshedDetailType  = "Catalog Not Refreshed"
	catalogNotRefreshedDetailField = "crawler"
)

// refreshCatalog crawls archive/ once the run's files are there and the lock
// is released, then goes on to then. The Glue job reads S3 directly, so the
// catalog is never on the run's critical path: a crawl that fails, times out
// or cannot start puts a "Catalog Not Refreshed" event (sent on to the alarm
// topic) and the execution still succeeds. A crawl already running (another
// run's, or a schedule's) is waited for instead of started.
func (o *orchestration) refreshCatalog(then sfn.IChainable) sfn.IChainable {
	notRefreshed := o.reportCatalogNotRefreshed(then)
	start := tasks.NewCallAwsService(o.scope, jsii.String("StartCrawler"), &tasks.CallAwsServiceProps{
		Service:      jsii.String("glue"),
		Action:       jsii.String("startCrawler"),
		Parameters:   &map[string]interface{}{"Name": o.props.CrawlerName},
		IamResources: jsii.Strings(o.crawlerArn()),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(start, crawlerRunning)
	get := tasks.NewCallAwsService(o.scope, jsii.String("GetCrawler"), &tasks.CallAwsServiceProps{
		Service:        jsii.String("glue"),
		Action:         jsii.String("getCrawler"),
		Parameters:     &map[string]interface{}{"Name": o.props.CrawlerName},
		IamResources:   jsii.Strings(o.crawlerArn()),
		ResultSelector: &map[string]interface{}{"state": sfn.JsonPath_StringAt(jsii.String("$.Crawler.State")), "crawler": sfn.JsonPath_ObjectAt(jsii.String("$.Crawler"))},
		ResultPath:     jsii.String("$.crawler"),
	})
	workflow.Retriable(get)
	get.AddCatch(notRefreshed, &sfn.CatchProps{ResultPath: jsii.String("$.crawlError")})
	wait := o.wait("WaitForCrawler", crawlerPollSeconds)
	start.AddCatch(wait, &sfn.CatchProps{Errors: jsii.Strings(crawlerRunning), ResultPath: sfn.JsonPath_DISCARD()})
	start.AddCatch(notRefreshed, &sfn.CatchProps{ResultPath: jsii.String("$.crawlError")})
	gaveUp := func(id, cause string) sfn.IChainable {
		return sfn.NewPass(o.scope, jsii.String(id), &sfn.PassProps{
			Result:     sfn.Result_FromObject(&map[string]interface{}{"Error": id, "Cause": cause}),
			ResultPath: jsii.String("$.crawlError"),
		}).Next(notRefreshed)
	}
	wait.Next(get).Next(o.counter("CountCrawlerPolls", "crawlerPolls")).Next(
		sfn.NewChoice(o.scope, jsii.String("IsCrawlerReady"), nil).
			When(sfn.Condition_And(
				sfn.Condition_StringEquals(jsii.String("$.crawler.state"), jsii.String("READY")),
				sfn.Condition_IsPresent(jsii.String("$.crawler.crawler.LastCrawl.Status")),
				sfn.Condition_StringEquals(jsii.String("$.crawler.crawler.LastCrawl.Status"), jsii.String("SUCCEEDED"))), o.publishCrawlSeconds(then), nil).
			When(sfn.Condition_StringEquals(jsii.String("$.crawler.state"), jsii.String("READY")),
				gaveUp("CrawlFailed", "The crawler's last crawl did not succeed; see its CloudWatch logs."), nil).
			When(sfn.Condition_NumberLessThan(jsii.String("$.crawlerPolls.count"), jsii.Number(maxCrawlerPolls)), wait, nil).
			Otherwise(gaveUp("CrawlerTimedOut", "The crawler did not finish in time.")))
	return start.Next(wait)
}

// publishCrawlSeconds puts how long the crawl took, to the crawler poll (as
// LockWaitSeconds is to the lock wait), on the flow's CrawlSeconds metric for
// the dashboard, then goes on to then. Glue reports a crawl's run time
// through its GetCrawlerMetrics API (LastRuntimeSeconds), which a dashboard
// cannot chart.
// Files and catalog are done by then: if even the metric cannot be put, the
// execution fails so that its own alarm fires and names this state.
func (o *orchestration) publishCrawlSeconds(then sfn.IChainable) sfn.IChainable {
	task := metrics.Put(o.scope, "PublishCrawlSeconds", []map[string]interface{}{{
		"MetricName": CrawlSecondsMetric,
		"Dimensions": []map[string]interface{}{{"Name": "Flow", "Value": o.props.SalesforceFlowName}},
		"Unit":       "Seconds",
		"Value":      fmt.Sprintf("{%% $states.input.crawlerPolls.count * %d %%}", crawlerPollSeconds),
	}}, "{% $states.input %}")
	task.AddCatch(sfn.NewFail(o.scope, jsii.String("CrawlSecondsNotPublished"), &sfn.FailProps{
		Error:     jsii.String("CrawlSecondsNotPublished"),
		CausePath: jsii.String("$.error.Cause"),
	}), &sfn.CatchProps{Outputs: errorIntoInput})
	return task.Next(then)
}

// reportCatalogNotRefreshed puts the event that alarms, then goes on to then.
// If even that fails, the execution fails, so that its own alarm fires; the
// run's files are moved by then: start the crawler again (README, Recovering
// a failed run); a new execution for the run would find it processed.
func (o *orchestration) reportCatalogNotRefreshed(then sfn.IChainable) sfn.IChainable {
	report := tasks.NewEventBridgePutEvents(o.scope, jsii.String("ReportCatalogNotRefreshed"), &tasks.EventBridgePutEventsProps{
		Entries: &[]*tasks.EventBridgePutEventsEntry{{
			Source:     jsii.String(CatalogEventSource),
			DetailType: jsii.String(CatalogNotRefreshedDetailType),
			Detail: sfn.TaskInput_FromObject(&map[string]interface{}{
				catalogNotRefreshedDetailField: o.props.CrawlerName,
				"runId":                        sfn.JsonPath_StringAt(jsii.String("$.run.runId")),
				"execution":                    sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id")),
				"error":                        sfn.JsonPath_StringAt(jsii.String("$.crawlError.Error")),
				"cause":                        sfn.JsonPath_StringAt(jsii.String("$.crawlError.Cause")),
			}),
		}},
		ResultPath: sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(report)
	report.AddCatch(sfn.NewFail(o.scope, jsii.String("CatalogAlarmNotSent"), &sfn.FailProps{
		Error:     jsii.String("CatalogAlarmNotSent"),
		CausePath: jsii.String("$.error.Cause"),
	}), &sfn.CatchProps{ResultPath: jsii.String("$.error")})
	return report.Next(then)
}

func (o *orchestration) crawlerArn() string {
	return *awscdk.Stack_Of(o.scope).FormatArn(&awscdk.ArnComponents{Service: jsii.String("glue"), Resource: jsii.String("crawler"), ResourceName: o.props.CrawlerName})
}

// newCatalogAlarmRule sends this orchestration's "Catalog Not Refreshed"
// events, matched by crawler name (consumers may share an account and its
// default bus), to the alarm topic as they came.
func newCatalogAlarmRule(scope constructs.Construct, crawlerName *string, alarms *workflow.AlarmTopic) awsevents.Rule {
	rule := awsevents.NewRule(scope, jsii.String("CatalogNotRefreshed"), &awsevents.RuleProps{
		Description: jsii.String("Alarms when a run's crawl of archive/ failed; the run itself succeeded."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(CatalogEventSource),
			DetailType: jsii.Strings(CatalogNotRefreshedDetailType),
			Detail:     &map[string]interface{}{catalogNotRefreshedDetailField: []*string{crawlerName}},
		},
	})
	alarms.Alert(rule, nil)
	return rule
}
