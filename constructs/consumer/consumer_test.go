package consumer_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const handoffRole = "arn:aws:iam::111111111111:role/lb-handoff"

// consumerTemplate composes every consumer construct, as the stack does.
func consumerTemplate(t *testing.T, mapping *map[string]*string) cdktest.Template {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")},
	})
	inbox := consumer.NewInboxBucket(stack, jsii.String("Inbox"), &consumer.InboxBucketProps{
		BucketName: jsii.String("lb-sales-inbox"), ProducerAccount: jsii.String("111111111111"), HandoffRoleArn: jsii.String(handoffRole),
	})
	catalog := consumer.NewLeadsCatalog(stack, jsii.String("Catalog"), &consumer.LeadsCatalogProps{Bucket: inbox.Bucket, Name: jsii.String("lb-sales")})
	job := consumer.NewFilterJob(stack, jsii.String("Job"), &consumer.FilterJobProps{
		JobName: jsii.String("lb-sales-filter"), ScriptPath: jsii.String("../../glue-scripts/filter_leads.py"), Bucket: inbox.Bucket,
		SecurityConfiguration: catalog.SecurityConfiguration, Key: catalog.Key,
	})
	flow := consumer.NewSalesforceFlow(stack, jsii.String("Flow"), &consumer.SalesforceFlowProps{
		FlowName: jsii.String("lb-sales-sf"), ConnectorProfileName: jsii.String("sf"), Bucket: inbox.Bucket, FieldMapping: mapping,
	})
	orchestration := consumer.NewOrchestrationStateMachine(stack, jsii.String("Orchestration"), &consumer.OrchestrationStateMachineProps{
		Bucket: inbox.Bucket, CrawlerName: catalog.Crawler.Name(), FilterJobName: job.JobName, SalesforceFlowName: flow.FlowName,
	})
	consumer.NewHandoffBus(stack, jsii.String("Bus"), &consumer.HandoffBusProps{
		EventBusName: jsii.String("lb-handoff"), ProducerAccount: jsii.String("111111111111"), HandoffRoleArn: jsii.String(handoffRole),
		StateMachine: orchestration.StateMachine,
	})
	return cdktest.Synth(t, stack)
}

func TestInboxBucket_TrustsTheProducerRoleByNameThroughItsAccount(t *testing.T) {
	// GIVEN a consumer  WHEN synthesized
	policy := cdktest.JSON(consumerTemplate(t, nil).Resources("AWS::S3::BucketPolicy"))
	// THEN the producer account root is the principal, narrowed to the hand-off role, on inbox/ only
	assert.Contains(t, policy, `"Sid":"ProducerHandoffWritesInbox"`)
	assert.Contains(t, policy, `:iam::111111111111:root`)
	assert.Contains(t, policy, `"ArnEquals":{"aws:PrincipalArn":"`+handoffRole+`"}`)
	assert.Contains(t, policy, `/inbox/*`)
	assert.Contains(t, policy, `"aws:SourceAccount":"222222222222"`, "AppFlow statements are guarded against the confused deputy")
	assert.Contains(t, policy, `/curated/*`)
	assert.Contains(t, policy, `/errors/*`)
}

func TestHandoffBus_AcceptsOnlyTheProducersHandoffEvents(t *testing.T) {
	tpl := consumerTemplate(t, nil)
	bus := cdktest.JSON(tpl.Only(t, "AWS::Events::EventBus"))
	assert.Contains(t, bus, `"Name":"lb-handoff"`)
	policy := cdktest.JSON(tpl.Only(t, "AWS::Events::EventBusPolicy"))
	// One PutEvents call carries several entries: both keys are multi-valued.
	assert.Contains(t, policy, `"ForAllValues:StringEquals":{"events:detail-type":"Leads Handed Off","events:source":"leadbridge.handoff"}`)
	assert.NotContains(t, policy, `"StringEquals":{"events:`, "a plain StringEquals on a multi-valued key")
	assert.Contains(t, policy, `:iam::111111111111:root`)
	assert.Contains(t, policy, `"aws:PrincipalArn":"`+handoffRole+`"`)
	assert.Contains(t, cdktest.JSON(tpl.Only(t, "AWS::Events::Archive")), `"RetentionDays":30`)
	busRules := 0
	for _, r := range tpl.Resources("AWS::Events::Rule") {
		if strings.Contains(cdktest.JSON(r), `"EventBusName":{"Ref":"Bus`) {
			busRules++
			assert.Contains(t, cdktest.JSON(r), `"DeadLetterConfig"`)
		}
	}
	assert.Equal(t, 1, busRules)
}

func TestFilterJob_IsGlue5WithItsScriptAsAnAsset(t *testing.T) {
	job := consumerTemplate(t, nil).Only(t, "AWS::Glue::Job")
	assert.Equal(t, "5.0", job["GlueVersion"])
	assert.Equal(t, "G.1X", job["WorkerType"])
	assert.EqualValues(t, 2, job["NumberOfWorkers"])
	assert.Contains(t, cdktest.JSON(job["Command"]), `"Name":"glueetl"`)
	assert.Contains(t, cdktest.JSON(job["Command"]), `.py`, "the script location is the uploaded asset")
	assert.NotNil(t, job["SecurityConfiguration"])
}

func TestFilterJob_PassesOnlyArgumentsGlue5UsesAndMayPublishItsMetrics(t *testing.T) {
	tpl := consumerTemplate(t, nil)
	args := tpl.Only(t, "AWS::Glue::Job")["DefaultArguments"].(map[string]any)
	// Glue 5.0 logs in real time; the continuous-logging flag is for 4.0 and earlier.
	assert.NotContains(t, args, "--enable-continuous-cloudwatch-log")
	if args["--enable-metrics"] == nil {
		return
	}
	// Metrics need PutMetricData, limited to the Glue namespace.
	var found bool
	for id, p := range tpl.Resources("AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "JobRole") {
			continue
		}
		for _, st := range p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			if cdktest.JSON(st.(map[string]any)["Action"]) == `"cloudwatch:PutMetricData"` {
				found = true
				assert.Equal(t, `{"StringEquals":{"cloudwatch:namespace":"Glue"}}`, cdktest.JSON(st.(map[string]any)["Condition"]))
			}
		}
	}
	assert.True(t, found, "--enable-metrics without cloudwatch:PutMetricData in the job role")
}

// The job's default --lead_rules are the JSON the Glue tests run with
// (glue-scripts/tests/testdata/default_lead_rules.json), so both sides test one contract.
func TestFilterJob_PassesTheDefaultRulesTheGlueTestsUse(t *testing.T) {
	want, err := os.ReadFile("../../glue-scripts/tests/testdata/default_lead_rules.json")
	require.NoError(t, err)
	job := consumerTemplate(t, nil).Only(t, "AWS::Glue::Job")
	args := job["DefaultArguments"].(map[string]any)
	assert.JSONEq(t, string(want), args["--lead_rules"].(string))
	assert.Equal(t, strings.TrimSpace(string(want)), args["--lead_rules"], "byte-equal, so the file is what the job gets")
}

func TestFilterJob_RejectsRulesThatWouldCutTheUpsertKey(t *testing.T) {
	rules := consumer.DefaultLeadRules()
	rules.TooLong["MarketoId"] = consumer.RuleTruncate
	rules.InvalidEmail = "fix"
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
	err := cdktest.Recover(func() {
		consumer.NewFilterJob(stack, jsii.String("Job"), &consumer.FilterJobProps{
			JobName: jsii.String("j"), ScriptPath: jsii.String("../../glue-scripts/filter_leads.py"),
			Bucket: awss3.Bucket_FromBucketName(stack, jsii.String("B"), jsii.String("inbox")),
			SecurityConfiguration: awsglue.NewCfnSecurityConfiguration(stack, jsii.String("S"), &awsglue.CfnSecurityConfigurationProps{
				Name: jsii.String("s"), EncryptionConfiguration: &awsglue.CfnSecurityConfiguration_EncryptionConfigurationProperty{}}),
			Key:   awskms.NewKey(stack, jsii.String("K"), nil),
			Rules: &rules,
		})
	})
	require.Error(t, err)
	assert.Equal(t, `FilterJob: FilterJob.Rules.tooLong["MarketoId"] must be drop (the upsert key column is never cut: a cut key could match another lead), got "truncate"
FilterJob.Rules.invalidEmail must be drop or blank, got "fix"`, err.Error())
}

func TestNewLeadRules_DerivesLengthsFromTheMappedFields(t *testing.T) {
	// GIVEN FirstName mapped to a custom field of 20 characters and the key to Id
	mapping := map[string]string{"MarketoId": "Id", "FirstName": "Nickname__c", "LastName": "LastName", "Company": "Company", "DoNotCall": "DoNotCall"}
	// WHEN the rules are derived
	rules, err := consumer.NewLeadRules("c", mapping, "Id", map[string]int{"Nickname__c": 20, "Id": 18}, consumer.RuleBehaviours{})
	// THEN each mapped text column has its field's length, the key column is dropped when too long, others truncated
	require.NoError(t, err)
	assert.Equal(t, consumer.LeadRules{
		UpsertKeyColumn: "MarketoId",
		MaxLengths:      map[string]int{"MarketoId": 18, "FirstName": 20, "LastName": 80, "Company": 255},
		TooLong:         map[string]string{"MarketoId": "drop", "FirstName": "truncate", "LastName": "truncate", "Company": "truncate"},
		InvalidEmail:    "blank",
	}, rules)
}

func TestValidateUpsertField_AcceptsOnlyIdOrCustomFields(t *testing.T) {
	for _, ok := range []string{"Id", "Marketo_Id__c", "ns__Key__c"} {
		assert.NoError(t, consumer.ValidateUpsertField("idField", ok), ok)
	}
	for _, bad := range []string{"Email", "LastName", "Key__C", "__c", "Marketo_Id"} {
		assert.Error(t, consumer.ValidateUpsertField("idField", bad), bad)
	}
}

// The job finds refused rows in AppFlow's error files by the flow's upsert field, and
// quarantines them after MaxLoadAttempts loads (default 3).
func TestFilterJob_PassesTheUpsertFieldAndTheBoundOfLoadAttempts(t *testing.T) {
	args := consumerTemplate(t, nil).Only(t, "AWS::Glue::Job")["DefaultArguments"].(map[string]any)
	assert.Equal(t, "Marketo_Id__c", args["--upsert_field"])
	assert.Equal(t, "3", args["--max_load_attempts"])
}

func TestFilterJob_RejectsABoundOfLoadAttemptsOutsideOneToTen(t *testing.T) {
	for _, bad := range []float64{0, 11, 2.5} {
		err := consumer.ValidateMaxLoadAttempts("maxLoadAttempts", bad)
		require.Error(t, err)
		assert.Equal(t, fmt.Sprintf("maxLoadAttempts must be a whole number from 1 to 10, got %g", bad), err.Error())
	}
	assert.NoError(t, consumer.ValidateMaxLoadAttempts("maxLoadAttempts", 10))
}

func TestFilterJob_RejectsZeroWorkers(t *testing.T) {
	err := consumer.ValidateJobSizing("filterJob", "G.1X", 0, 60)
	require.Error(t, err)
	assert.Equal(t, "filterJob.numberOfWorkers must be a whole number from 2 to 299, got 0", err.Error())
}

func TestSalesforceFlow_UpsertsLeadsFromCuratedCSV(t *testing.T) {
	flow := consumerTemplate(t, nil).Only(t, "AWS::AppFlow::Flow")
	text := cdktest.JSON(flow)
	assert.Contains(t, text, `"S3InputFileType":"CSV"`)
	assert.Contains(t, text, `"BucketPrefix":"curated"`)
	assert.Contains(t, text, `"Object":"Lead"`)
	assert.Contains(t, text, `"WriteOperationType":"UPSERT"`)
	assert.Contains(t, text, `"IdFieldNames":["Marketo_Id__c"]`)
	assert.Contains(t, text, `"DestinationField":"Marketo_Id__c","SourceFields":["MarketoId"]`)
	assert.Contains(t, text, `"ConnectorOperator":{"S3":"PROJECTION"}`)
	assert.Contains(t, text, `"DestinationField":"DoNotCall"`)
	assert.Equal(t, "OnDemand", flow["TriggerConfig"].(map[string]any)["TriggerType"])
}

func TestSalesforceFlow_ReadsAPrefixNoOtherFolderStartsWith(t *testing.T) {
	// GIVEN every consumer construct, and the prefix the Salesforce flow reads ("curated", no slash)
	tpl := consumerTemplate(t, nil)
	text := cdktest.JSON(tpl)
	prefix := tpl.Only(t, "AWS::AppFlow::Flow")["SourceFlowConfig"].(map[string]any)["SourceConnectorProperties"].(map[string]any)["S3"].(map[string]any)["BucketPrefix"].(string)
	// WHEN the folders the templates name in the inbox bucket are gathered (policies, job arguments)
	folders := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?:"/|s3://lb-sales-inbox/)([A-Za-z0-9_.-]+)(?:/|_\$folder\$)`).FindAllStringSubmatch(text, -1) {
		folders[m[1]] = true
	}
	require.True(t, folders[prefix], "the curated folder itself is named: %v", folders)
	require.Greater(t, len(folders), 5, "%v", folders)
	// THEN none but the curated folder starts with the flow's prefix: read as a plain string prefix,
	// it takes no other folder's files
	for folder := range folders {
		if folder != prefix {
			assert.False(t, strings.HasPrefix(folder, prefix), "%s/ starts with the Salesforce flow's BucketPrefix %q", folder, prefix)
		}
	}
}

func TestSalesforceFlow_RejectsAnEmptyMapping(t *testing.T) {
	err := cdktest.Recover(func() { consumerTemplate(t, &map[string]*string{}) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SalesforceFlow.fieldMapping must map at least one curated column to a Lead field, got none")
}

func TestOrchestration_RunsJobLoadsMovesThenCrawls(t *testing.T) {
	def := consumerTemplate(t, nil).StateMachineDefinition(t, "OrchestrationStateMachine")
	s := def.States
	// The run lock comes first; a run whose files are already gone does nothing more.
	assert.Equal(t, "AcquireRunLock", s["ReadHandoffEvent"].Next)
	assert.Equal(t, "CountSourceObjects", s["AcquireRunLock"].Next)
	assert.Equal(t, "ReleaseLockOfProcessedRun", s["HasSourceFiles"].Default)
	assert.Equal(t, "RunAlreadyProcessed", s["ReleaseLockOfProcessedRun"].Next)
	// No crawl before the job: the job reads S3 directly.
	assert.Contains(t, cdktest.JSON(s["HasSourceFiles"].Choices), `"Next":"RunFilterJob"`)
	// The job runs to completion (.sync); its report must balance, and decides whether Salesforce is called.
	assert.Contains(t, s["RunFilterJob"].Resource, "glue:startJobRun.sync")
	assert.Equal(t, "CheckJobAccounting", s["ReadJobReport"].Next)
	assert.Equal(t, "DidJobKeepLeads", s["CheckJobAccounting"].Next)
	assert.Contains(t, cdktest.JSON(s["DidJobKeepLeads"].Choices), `"Next":"LeadsUnaccounted"`)
	assert.Equal(t, "ComposeRunReport", s["DidJobKeepLeads"].Default, "no rows: AppFlow is not called")
	// AppFlow: start with the run id as client token, then a bounded poll loop.
	assert.Contains(t, cdktest.JSON(s["StartSalesforceLoad"].Parameters), `"ClientToken.$":"States.Format('{}-{}', $.run.runId, $$.Execution.Name)"`)
	assert.Equal(t, "DescribeSalesforceLoad", s["WaitForSalesforceLoad"].Next)
	choices := cdktest.JSON(s["IsLoadDone"].Choices)
	assert.Contains(t, choices, `{"Next":"ComposeRunReport","Or":[{"StringEquals":"Successful","Variable":"$.loadStatus.status"}]}`)
	assert.Contains(t, choices, `"Next":"LoadFailed"`)
	assert.Contains(t, choices, `"NumericLessThan":240`)
	assert.Equal(t, "CancelSalesforceLoad", s["IsLoadDone"].Default, "a load that outlives its bound is cancelled")
	// Every lead is accounted for before anything moves: the report, the retry marker (refused rows
	// for the next run), the rejected rows' metric, then the quarantined rows' metric.
	assert.Equal(t, "WriteRunReport", s["ComposeRunReport"].Next)
	assert.Equal(t, "PublishRunMetrics", s["WriteRunReport"].Next)
	assert.Equal(t, "DidLoadRefuseRows", s["PublishRunMetrics"].Next)
	assert.Contains(t, cdktest.JSON(s["DidLoadRefuseRows"].Choices), `"Next":"KeepRejectedRowsForRetry"`)
	assert.Equal(t, "ClearRetryMarker", s["DidLoadRefuseRows"].Default)
	assert.Equal(t, "DidSalesforceRejectRows", s["KeepRejectedRowsForRetry"].Next)
	assert.Equal(t, "DidSalesforceRejectRows", s["ClearRetryMarker"].Next)
	assert.Equal(t, "DidJobQuarantineRows", s["DidSalesforceRejectRows"].Default)
	assert.Equal(t, "DidJobQuarantineRows", s["PublishRejectedRows"].Next)
	assert.Equal(t, "MoveCurated", s["DidJobQuarantineRows"].Default)
	assert.Equal(t, "MoveCurated", s["PublishQuarantinedRows"].Next)
	// Moves come only after the load, and the lock is released before the crawl.
	assert.Equal(t, "ArchiveSource", s["MoveCurated"].Next)
	assert.Equal(t, "ReleaseRunLock", s["ArchiveSource"].Next)
	assert.Equal(t, "StartCrawler", s["ReleaseRunLock"].Next)
	assert.Equal(t, "DeleteCuratedObject", s["MoveCurated"].ItemProcessor.States["MoveCuratedEachObject"].ItemProcessor.States["CopyCuratedToProcessed"].Next)
	before := def.Reachable("ReadHandoffEvent")
	for name := range before {
		if s[name].Next == "MoveCurated" || s[name].Default == "MoveCurated" {
			assert.Contains(t, []string{"DidJobQuarantineRows", "PublishQuarantinedRows"}, name)
		}
	}
	// Crawler loop: start, wait, get, count, choose; a running crawler is not a failure; bounded.
	assert.Contains(t, cdktest.JSON(s["StartCrawler"].Catch), `"ErrorEquals":["Glue.CrawlerRunningException"],"Next":"WaitForCrawler"`)
	assert.Equal(t, "GetCrawler", s["WaitForCrawler"].Next)
	assert.Equal(t, "IsCrawlerReady", s["CountCrawlerPolls"].Next)
	assert.Contains(t, cdktest.JSON(s["IsCrawlerReady"].Choices), `"Next":"PublishCrawlSeconds"`)
	assert.Equal(t, "RunComplete", s["PublishCrawlSeconds"].Next)
	assert.Contains(t, cdktest.JSON(s["IsCrawlerReady"].Choices), `"NumericLessThan":120`, "the crawler loop is bounded")
}

func TestOrchestration_PublishesHowLongTheCrawlTook(t *testing.T) {
	// GIVEN a consumer's orchestration
	def := consumerTemplate(t, nil).StateMachineDefinition(t, "OrchestrationStateMachine")
	// WHEN a crawl succeeded
	publish := def.States["PublishCrawlSeconds"]
	// THEN its duration goes on the flow's CrawlSeconds metric, to the poll, the way the lock wait does,
	args := cdktest.JSON(publish.Arguments)
	assert.Contains(t, args, `"MetricName":"CrawlSeconds"`)
	assert.Contains(t, args, `"Value":"{% $states.input.crawlerPolls.count * 30 %}"`)
	assert.NotEmpty(t, publish.Retry, "a transient CloudWatch error is retried")
	// and if even that fails the execution fails (its alarm names the state) instead of ending unseen.
	assert.Contains(t, cdktest.JSON(publish.Catch), `"ErrorEquals":["States.ALL"],"Next":"CrawlSecondsNotPublished"`)
	assert.Equal(t, "Fail", def.States["CrawlSecondsNotPublished"].Type)
}

func TestOrchestration_AFailedCrawlAlarmsButDoesNotFailTheRun(t *testing.T) {
	tpl := consumerTemplate(t, nil)
	def := tpl.StateMachineDefinition(t, "OrchestrationStateMachine")
	s := def.States
	// Every way the crawl can go wrong reports the event, then the run completes.
	for _, name := range []string{"StartCrawler", "GetCrawler"} {
		assert.Contains(t, cdktest.JSON(s[name].Catch), `"ErrorEquals":["States.ALL"],"Next":"ReportCatalogNotRefreshed","ResultPath":"$.crawlError"`, name)
	}
	assert.Contains(t, cdktest.JSON(s["IsCrawlerReady"].Choices), `"Next":"CrawlFailed"`)
	assert.Equal(t, "CrawlerTimedOut", s["IsCrawlerReady"].Default)
	assert.Equal(t, "ReportCatalogNotRefreshed", s["CrawlFailed"].Next)
	assert.Equal(t, "ReportCatalogNotRefreshed", s["CrawlerTimedOut"].Next)
	assert.Equal(t, "RunComplete", s["ReportCatalogNotRefreshed"].Next)
	assert.Contains(t, cdktest.JSON(s["ReportCatalogNotRefreshed"].Parameters), `"Source":"leadbridge.orchestration"`)
	assert.NotContains(t, cdktest.JSON(s["ReportCatalogNotRefreshed"].Parameters), `"EventBusName"`, "the account's default bus")
	// No crawl state leads to the failure path of the run.
	for name := range def.Reachable("StartCrawler") {
		assert.NotEqual(t, "ReleaseLockAfterFailure", name)
		assert.NotEqual(t, "OrchestrationFailed", name)
	}
	// AND the event reaches the alarm topic, for this crawler only.
	var rule map[string]any
	for _, r := range tpl.Resources("AWS::Events::Rule") {
		if strings.Contains(cdktest.JSON(r), catalogDetailTypeJSON) {
			rule = r["Properties"].(map[string]any)
		}
	}
	require.NotNil(t, rule, "no rule for the Catalog Not Refreshed event")
	assert.Nil(t, rule["EventBusName"], "the default bus")
	assert.Contains(t, cdktest.JSON(rule["EventPattern"]), `"detail":{"crawler":["lb-sales-archive"]}`)
	assert.Contains(t, cdktest.JSON(rule["Targets"]), `{"Ref":"OrchestrationAlarms`)
	// ... through a role of its own: the topic's policy admits no EventBridge rule of another account.
	assert.Contains(t, cdktest.JSON(rule["Targets"]), `"RoleArn"`)
	assert.NotContains(t, cdktest.JSON(tpl.Resources("AWS::SNS::TopicPolicy")), `events.amazonaws.com`)
}

// catalogDetailTypeJSON is how the rule's pattern names the event.
const catalogDetailTypeJSON = `"detail-type":["Catalog Not Refreshed"]`

func TestLeadsCatalog_CrawlsArchiveWithoutPartitionIndexes(t *testing.T) {
	crawler := consumerTemplate(t, nil).Only(t, "AWS::Glue::Crawler")
	// Crawlers create partition indexes by default, which needs glue:CreatePartitionIndex.
	assert.Contains(t, crawler["Configuration"], `"CreatePartitionIndex":false`)
	assert.Contains(t, cdktest.JSON(crawler["Targets"]), `/archive/`)
}

func TestOrchestration_EveryFailureReleasesTheLockAndFails(t *testing.T) {
	def := consumerTemplate(t, nil).StateMachineDefinition(t, "OrchestrationStateMachine")
	catalogPhase := def.Reachable("StartCrawler")
	for name, s := range def.States {
		if s.Type != "Task" && s.Type != "Map" {
			continue
		}
		if s.Type == "Task" {
			assert.Equal(t, "FULL", s.Retry[len(s.Retry)-1]["JitterStrategy"], name)
		}
		switch {
		case name == "ReleaseLockAfterFailure":
			assert.Contains(t, cdktest.JSON(s.Catch), `"Next":"OrchestrationFailed"`)
		case name == "ReportCatalogNotRefreshed":
			assert.Contains(t, cdktest.JSON(s.Catch), `"ErrorEquals":["States.ALL"],"Next":"CatalogAlarmNotSent"`)
		case name == "PublishRunMetrics":
			// a JSONata state: the error goes to $.error through Output
			assert.Contains(t, cdktest.JSON(s.Catch), `"ErrorEquals":["States.ALL"],"Next":"ReleaseLockAfterFailure","Output":"{% $merge([$states.input, {\"error\": $states.errorOutput}]) %}"`, name)
		case catalogPhase[name]:
			// after the lock is released: see TestOrchestration_AFailedCrawlAlarmsButDoesNotFailTheRun
		default:
			assert.Contains(t, cdktest.JSON(s.Catch), `"ErrorEquals":["States.ALL"],"Next":"ReleaseLockAfterFailure","ResultPath":"$.error"`, name)
		}
	}
	assert.Equal(t, "OrchestrationFailed", def.States["ReleaseLockAfterFailure"].Next)
}

// The Salesforce flow can map only the columns the Glue job writes.
func TestCuratedColumns_EqualTheColumnsTheGlueScriptWrites(t *testing.T) {
	script, err := os.ReadFile("../../glue-scripts/filter_leads.py")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^CURATED_COLUMNS = \[(.*)\]$`).FindSubmatch(script)
	require.NotNil(t, m, "filter_leads.py must define CURATED_COLUMNS on one line")
	var written []string
	for _, quoted := range strings.Split(string(m[1]), ",") {
		written = append(written, strings.Trim(strings.TrimSpace(quoted), `"'`))
	}
	assert.Equal(t, consumer.CuratedColumns, written)
	for column := range consumer.DefaultLeadFieldMapping() {
		assert.Contains(t, written, column)
	}
}

func TestInboxBucket_RejectsARoleOutsideTheProducerAccount(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
	err := cdktest.Recover(func() {
		consumer.NewInboxBucket(stack, jsii.String("Inbox"), &consumer.InboxBucketProps{
			BucketName: jsii.String("b"), ProducerAccount: jsii.String("111111111111"),
			HandoffRoleArn: jsii.String("arn:aws:iam::999999999999:role/lb-handoff"),
		})
	})
	require.Error(t, err)
	assert.Equal(t, `InboxBucket: HandoffRoleArn "arn:aws:iam::999999999999:role/lb-handoff" must be a role of ProducerAccount "111111111111"`, err.Error())
}

func TestInboxBucket_ExpiresEveryFolderByItsClassOfData(t *testing.T) {
	// GIVEN an inbox that keeps what was sent 7 days and refused rows 14
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")},
	})
	consumer.NewInboxBucket(stack, jsii.String("Inbox"), &consumer.InboxBucketProps{
		BucketName: jsii.String("lb-sales-inbox"), ProducerAccount: jsii.String("111111111111"), HandoffRoleArn: jsii.String(handoffRole),
		SentRetentionDays: jsii.Number(7), RefusedRetentionDays: jsii.Number(14),
	})
	// THEN every folder the pipeline writes expires, by its class, the others by their defaults
	expiry := map[string]float64{}
	for _, b := range cdktest.Synth(t, stack).VersionedBuckets() {
		for _, r := range cdktest.LifecycleRules(b) {
			if r.Prefix != "" {
				expiry[r.Prefix] = r.ExpirationInDays
			}
		}
	}
	assert.Equal(t, map[string]float64{
		consumer.SourcePrefix: 365, consumer.ArchivePrefix: 365,
		consumer.CuratedPrefix: 7, consumer.CuratedParquetPrefix: 7, consumer.ProcessedPrefix: 7,
		consumer.RejectedPrefix: 14, consumer.RetryPrefix: 14, consumer.QuarantinePrefix: 14, consumer.ErrorsPrefix: 14,
		consumer.ReportsPrefix: 90, "map-results/": 90,
	}, expiry)
}

func TestConsumer_OneKeyGuardsTheInboxAndGluesLogsAndAdmitsEachUserByName(t *testing.T) {
	// GIVEN every consumer construct on a KMS inbox, WHEN synthesized
	tpl := consumerTemplate(t, nil)
	// THEN one key encrypts the bucket, Glue's logs and Glue's S3 writes
	require.Len(t, tpl.Resources("AWS::KMS::Key"), 1)
	security := cdktest.JSON(tpl.Resources("AWS::Glue::SecurityConfiguration"))
	assert.Contains(t, security, `"Name":"lb-sales-glue-kms"`, "a new name: Glue cannot update a security configuration")
	assert.Contains(t, security, `"S3EncryptionMode":"SSE-KMS"`)
	// AND its policy admits the users of the inbox, each for what it does, through S3 on this bucket
	statements := tpl.KeyStatements()
	want := map[string]string{
		"ProducerHandoffWritesInbox":      `"kms:GenerateDataKey"`,
		"AppFlowReadsCuratedWritesErrors": `["kms:Decrypt","kms:GenerateDataKey"]`,
		"FilterJobReadsAndWrites":         `["kms:Decrypt","kms:GenerateDataKey"]`,
		"CrawlerReadsArchive":             `"kms:Decrypt"`,
		"OrchestrationMovesRuns":          `["kms:Decrypt","kms:GenerateDataKey"]`,
	}
	for sid, actions := range want {
		st, ok := statements[sid]
		if !assert.True(t, ok, "no key policy statement %s", sid) {
			continue
		}
		assert.Equal(t, actions, cdktest.JSON(st["Action"]), sid)
		cond := cdktest.JSON(st["Condition"])
		assert.Contains(t, cond, `"kms:ViaService":"s3.eu-west-1.amazonaws.com"`, sid)
		assert.Contains(t, cond, `":s3:::lb-sales-inbox"`, sid)
	}
	assert.Contains(t, cdktest.JSON(statements["ProducerHandoffWritesInbox"]), `"aws:PrincipalArn":"`+handoffRole+`"`)
	assert.Contains(t, cdktest.JSON(statements["AppFlowReadsCuratedWritesErrors"]), `"aws:SourceAccount":"222222222222"`)
	assert.ElementsMatch(t, []string{"AccountAdministersKey", "CloudWatchLogsUsesKey", "ProducerHandoffWritesInbox", "AppFlowReadsCuratedWritesErrors",
		"FilterJobReadsAndWrites", "CrawlerReadsArchive", "OrchestrationMovesRuns"}, keys(statements), "nobody else")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestInboxBucket_WithS3ManagedEncryptionKeepsTheSSES3SecurityConfiguration(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")},
	})
	inbox := consumer.NewInboxBucket(stack, jsii.String("Inbox"), &consumer.InboxBucketProps{
		BucketName: jsii.String("lb-sales-inbox"), ProducerAccount: jsii.String("111111111111"), HandoffRoleArn: jsii.String(handoffRole),
		S3ManagedEncryption: jsii.Bool(true),
	})
	consumer.NewLeadsCatalog(stack, jsii.String("Catalog"), &consumer.LeadsCatalogProps{Bucket: inbox.Bucket, Name: jsii.String("lb-sales")})
	tpl := cdktest.Synth(t, stack)
	assert.Nil(t, inbox.Key)
	security := cdktest.JSON(tpl.Resources("AWS::Glue::SecurityConfiguration"))
	assert.Contains(t, security, `"Name":"lb-sales-glue"`, "the name an SSE-S3 consumer always had: nothing is replaced")
	assert.Contains(t, security, `"S3EncryptionMode":"SSE-S3"`)
	assert.Len(t, tpl.Resources("AWS::KMS::Key"), 1, "Glue's own key for its logs")
}
