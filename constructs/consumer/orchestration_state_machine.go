package consumer

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/s3steps"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// Bounds of the wait loops: no loop can spin past the execution's timeout.
const (
	lockWaitSeconds    = 60
	maxLockWaits       = 360 // 6 hours behind another run
	crawlerPollSeconds = 30
	maxCrawlerPolls    = 120 // 1 hour of crawling
	runLockID          = "curated"
	conditionFailed    = "DynamoDB.ConditionalCheckFailedException"
	crawlerRunning     = "Glue.CrawlerRunningException"
	executionNotFound  = "Sfn.ExecutionDoesNotExistException"
)

// OrchestrationStateMachineProps configures an OrchestrationStateMachine.
type OrchestrationStateMachineProps struct {
	// Bucket is the inbox bucket; the run's files are under inbox/<run id>/.
	Bucket awss3.IBucket
	// CrawlerName is the crawler over archive/, started once a run is archived.
	CrawlerName *string
	// FilterJobName is the Glue job that curates the run.
	FilterJobName *string
	// SalesforceFlowName is the AppFlow flow that loads curated/.
	SalesforceFlowName *string
	// FilterJobTimeoutMinutes is the filter job's own timeout, part of the
	// longest run an execution must outlast.
	// Default: - 60.
	FilterJobTimeoutMinutes *float64
	// Timeout bounds one execution, including the wait for an earlier run. It
	// must exceed the sum of the bounds of the lock wait, the job, the load,
	// its cancellation and the crawl, so that every bounded loop ends, and
	// releases or keeps the lock on purpose, before the execution times out.
	// Default: - that sum plus an hour (14 hours with a 60-minute job).
	Timeout awscdk.Duration
	// AlarmEmail is subscribed to the failed-execution alarm.
	// Default: - no subscription.
	AlarmEmail *string
}

// OrchestrationStateMachine curates one hand-off and loads it into Salesforce.
//
// Runs are serialized by a lock item in RunLock, because the Salesforce flow
// always reads the same curated/ folder: a second run waits (bounded) for the
// first, and takes over a lock whose owner execution is no longer running.
// Files move to processed/ and archive/ only after Salesforce confirmed the
// load. A repeated event is harmless: its files are already archived, so it
// only takes and releases the lock; and StartFlow's client token is the run
// id and execution name, so a retried start cannot load twice.
type OrchestrationStateMachine struct {
	constructs.Construct
	StateMachine sfn.StateMachine
	flowName     *string
	Role         awsiam.Role
	// RunLock holds at most one item: the execution that owns curated/.
	RunLock    awsdynamodb.Table
	Monitoring workflow.Parts
	// CatalogAlarmRule sends a failed crawl of a finished run to Monitoring's alarm topic.
	CatalogAlarmRule awsevents.Rule
	// RejectedRowsAlarm fires when Salesforce refused records of a run.
	RejectedRowsAlarm awscloudwatch.Alarm
	// QuarantinedRowsAlarm fires when a run quarantined rows Salesforce refused too often.
	QuarantinedRowsAlarm awscloudwatch.Alarm
}

// boundedMinutes is the longest an execution's bounded loops and job can
// take: lock wait, filter job, load, cancellation of the load, crawl.
func (p *OrchestrationStateMachineProps) boundedMinutes() float64 {
	job := 60.0
	if p.FilterJobTimeoutMinutes != nil {
		job = *p.FilterJobTimeoutMinutes
	}
	return (maxLockWaits*lockWaitSeconds+(maxLoadPolls+maxCancelPolls)*loadPollSeconds+maxCrawlerPolls*crawlerPollSeconds)/60 + job
}

func (p *OrchestrationStateMachineProps) timeout() awscdk.Duration {
	if p.Timeout != nil {
		return p.Timeout
	}
	return awscdk.Duration_Minutes(jsii.Number(p.boundedMinutes() + 60))
}

func (p *OrchestrationStateMachineProps) validate() error {
	errs := []error{
		validate.NotNil(map[string]any{"Bucket": p.Bucket}),
		validate.RequiredStrings(map[string]*string{
			"CrawlerName": p.CrawlerName, "FilterJobName": p.FilterJobName, "SalesforceFlowName": p.SalesforceFlowName,
		}),
	}
	if p.Timeout != nil && *p.Timeout.ToMinutes(nil) <= p.boundedMinutes() {
		errs = append(errs, fmt.Errorf("Timeout must exceed %g minutes (lock wait, job, load, its cancellation and crawl), got %g",
			p.boundedMinutes(), *p.Timeout.ToMinutes(nil)))
	}
	return errors.Join(errs...)
}

// NewOrchestrationStateMachine creates the state machine, its role and lock table.
func NewOrchestrationStateMachine(scope constructs.Construct, id *string, props *OrchestrationStateMachineProps) *OrchestrationStateMachine {
	if props == nil {
		props = &OrchestrationStateMachineProps{}
	}
	validate.Must("OrchestrationStateMachine", props.validate())
	this := constructs.NewConstruct(scope, id)
	lock := awsdynamodb.NewTable(this, jsii.String("RunLock"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String("lockId"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		RemovalPolicy:                    awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
	})
	o := &orchestration{scope: this, props: props, bucket: props.Bucket, lock: lock, role: role}
	timeout := props.timeout()
	parts := workflow.NewStateMachine(this, &workflow.Props{Definition: o.build(), Role: role, Timeout: timeout, AlarmEmail: props.AlarmEmail})
	// S3 uses the inbox key for the role: reading reports, moving runs
	// (read and write), writing its run report, the retry marker and the Map
	// Runs' results.
	databucket.GrantKeyUse(props.Bucket, "OrchestrationMovesRuns", databucket.RoleOfThisAccount(role), databucket.ReadWrite)
	workflow.SuppressWildcards(role, "The orchestration moves whole run folders (curated/*, processed/*, inbox/*, archive/*), reads reports/*, "+
		"and describes the execution the run lock names (read-only; naming its own state machine in its role would be a circular dependency).",
		`/^Resource::(.*\/(curated|processed|inbox|archive|reports)\/\*|arn:.*:execution:\*)$/g`)
	s3steps.SuppressResultsWildcard(role)
	catalogAlarm := newCatalogAlarmRule(this, props.CrawlerName, parts.Alarms)
	rejected := newRejectedRowsAlarm(this, props)
	quarantined := newQuarantinedRowsAlarm(this, props)
	parts.Alarms.Notify(rejected)
	parts.Alarms.Notify(quarantined)
	return &OrchestrationStateMachine{Construct: this, StateMachine: parts.StateMachine, flowName: props.SalesforceFlowName, Role: role, RunLock: lock, Monitoring: parts,
		CatalogAlarmRule: catalogAlarm, RejectedRowsAlarm: rejected, QuarantinedRowsAlarm: quarantined}
}

type orchestration struct {
	scope  constructs.Construct
	props  *OrchestrationStateMachineProps
	bucket awss3.IBucket
	lock   awsdynamodb.Table
	role   awsiam.IRole
	// failed releases the lock, then fails; fail fails at once.
	failed sfn.IChainable
	fail   sfn.Fail
}

// catch routes every error of a task to the failure path.
func (o *orchestration) catch(t sfn.TaskStateBase) {
	t.AddCatch(o.failed, workflow.CatchNamingState("$.error"))
}

// failWith records why a Choice gave up, then takes the failure path.
func (o *orchestration) failWith(id, cause string) sfn.IChainable {
	return o.recordGivingUp(id, cause).Next(o.failed)
}

// failKeepingLock records why a Choice gave up and fails without releasing
// the lock: for a load that may still be writing to Salesforce.
func (o *orchestration) failKeepingLock(id, cause string) sfn.IChainable {
	return o.recordGivingUp(id, cause).Next(o.fail)
}

// recordGivingUp puts the error a Choice gave up with at $.error, as a Catch would,
// and names the state for the failure message.
func (o *orchestration) recordGivingUp(id, cause string) sfn.Pass {
	return sfn.NewPass(o.scope, jsii.String(id), &sfn.PassProps{
		Result:     sfn.Result_FromObject(&map[string]interface{}{"Error": id, "Cause": cause}),
		ResultPath: jsii.String("$.error"),
		Assign:     workflow.NoteFailedState(),
	})
}

// counter increments $.<name>.count, the bound of a wait loop.
func (o *orchestration) counter(id, name string) sfn.Pass {
	return sfn.NewPass(o.scope, jsii.String(id), &sfn.PassProps{
		Parameters: &map[string]interface{}{"count.$": fmt.Sprintf("States.MathAdd($.%s.count, 1)", name)},
		ResultPath: jsii.String("$." + name),
	})
}

func (o *orchestration) wait(id string, seconds float64) sfn.Wait {
	return sfn.NewWait(o.scope, jsii.String(id), &sfn.WaitProps{Time: sfn.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(seconds)))})
}

func (o *orchestration) build() sfn.IChainable {
	// No file was moved. The cause names the run, the step that gave up and
	// its cause (its error name is in the history: a Fail state may not
	// re-raise States.*).
	fail := sfn.NewFail(o.scope, jsii.String("OrchestrationFailed"), &sfn.FailProps{
		Error:     jsii.String("OrchestrationFailed"),
		CausePath: workflow.FailureCausePath("$.run.runId", "$.error.Cause"),
	})
	release := o.releaseLock("ReleaseLockAfterFailure")
	// Not owning the lock (or failing to release it) must not hide the failure.
	release.AddCatch(fail, &sfn.CatchProps{ResultPath: sfn.JsonPath_DISCARD()})
	o.failed = release.Next(fail)
	o.fail = fail

	read := sfn.NewPass(o.scope, jsii.String("ReadHandoffEvent"), &sfn.PassProps{
		Comment: jsii.String("The bucket is this stack's own; only the run id is taken from the event."),
		Parameters: &map[string]interface{}{
			"run": map[string]interface{}{
				"runId.$":           "$.detail.runId",
				"sourcePrefix.$":    fmt.Sprintf("States.Format('%s{}/', $.detail.runId)", SourcePrefix),
				"curatedPrefix":     CuratedPrefix,
				"processedPrefix.$": fmt.Sprintf("States.Format('%s{}/', $.detail.runId)", ProcessedPrefix),
				"archivePrefix.$":   fmt.Sprintf("States.Format('%s{}/', $.detail.runId)", ArchivePrefix),
			},
			"lockWaits":    map[string]interface{}{"count": 0},
			"crawlerPolls": map[string]interface{}{"count": 0},
			"loadPolls":    map[string]interface{}{"count": 0},
		},
	})

	done := sfn.NewSucceed(o.scope, jsii.String("RunComplete"), nil)
	moves := o.moveFiles(o.refreshCatalog(done))
	report := o.reportRun(moves)
	load := o.loadIntoSalesforce(report)
	job := o.runFilterJob(o.checkJobReport(load, report))
	return sfn.Chain_Start(read).Next(o.acquireLock(o.skipIfAlreadyProcessed(job)))
}

// lockKey is the single item of the lock table.
func lockKey() *map[string]tasks.DynamoAttributeValue {
	return &map[string]tasks.DynamoAttributeValue{"lockId": tasks.DynamoAttributeValue_FromString(jsii.String(runLockID))}
}

// putLock writes the lock item as this execution's, under condition. DynamoDB
// rejects values the condition does not use, so values are exactly its own.
func (o *orchestration) putLock(id, condition string, values map[string]tasks.DynamoAttributeValue) tasks.DynamoPutItem {
	task := tasks.NewDynamoPutItem(o.scope, jsii.String(id), &tasks.DynamoPutItemProps{
		Table: o.lock,
		Item: &map[string]tasks.DynamoAttributeValue{
			"lockId": tasks.DynamoAttributeValue_FromString(jsii.String(runLockID)),
			"owner":  tasks.DynamoAttributeValue_FromString(sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id"))),
			"runId":  tasks.DynamoAttributeValue_FromString(sfn.JsonPath_StringAt(jsii.String("$.run.runId"))),
		},
		ConditionExpression:      jsii.String(condition),
		ExpressionAttributeNames: &map[string]*string{"#owner": jsii.String("owner")},
		// nil when the condition uses no value: DynamoDB rejects an empty map.
		ExpressionAttributeValues: valuesOrNil(values),
		ResultPath:                sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(task, conditionFailed)
	return task
}

func valuesOrNil(values map[string]tasks.DynamoAttributeValue) *map[string]tasks.DynamoAttributeValue {
	if len(values) == 0 {
		return nil
	}
	return &values
}

// acquireLock takes the run lock, waiting (bounded) while another running
// execution holds it, and taking over a lock left by one that stopped.
func (o *orchestration) acquireLock(then sfn.IChainable) sfn.IChainable {
	acquire := o.putLock("AcquireRunLock", "attribute_not_exists(lockId) OR #owner = :me", map[string]tasks.DynamoAttributeValue{
		":me": tasks.DynamoAttributeValue_FromString(sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id"))),
	})
	takeOver := o.putLock("TakeOverStaleLock", "#owner = :stale", map[string]tasks.DynamoAttributeValue{
		":stale": tasks.DynamoAttributeValue_FromString(sfn.JsonPath_StringAt(jsii.String("$.lock.Item.owner.S"))),
	})
	// A lock item without an owner (written by hand, or by an older version)
	// names no execution to wait for: take it over rather than retry the
	// acquire at once, which would loop without waiting.
	takeOverOwnerless := o.putLock("TakeOverOwnerlessLock", "attribute_exists(lockId) AND attribute_not_exists(#owner)", nil)
	getOwner := tasks.NewDynamoGetItem(o.scope, jsii.String("GetLockOwner"), &tasks.DynamoGetItemProps{
		Table: o.lock, Key: lockKey(), ConsistentRead: jsii.Bool(true), ResultPath: jsii.String("$.lock"),
	})
	workflow.Retriable(getOwner)
	describeOwner := tasks.NewCallAwsService(o.scope, jsii.String("DescribeLockOwner"), &tasks.CallAwsServiceProps{
		Service:    jsii.String("sfn"),
		Action:     jsii.String("describeExecution"),
		Parameters: &map[string]interface{}{"ExecutionArn": sfn.JsonPath_StringAt(jsii.String("$.lock.Item.owner.S"))},
		IamResources: jsii.Strings(*awscdk.Stack_Of(o.scope).FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("states"), Resource: jsii.String("execution"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})),
		IamAction:      jsii.String("states:DescribeExecution"),
		ResultSelector: &map[string]interface{}{"status": sfn.JsonPath_StringAt(jsii.String("$.Status"))},
		ResultPath:     jsii.String("$.lockOwner"),
	})
	workflow.Retriable(describeOwner, executionNotFound)

	waitForLock := o.wait("WaitForRunLock", lockWaitSeconds)
	waitForLock.Next(o.counter("CountLockWaits", "lockWaits")).Next(
		sfn.NewChoice(o.scope, jsii.String("HasLockWaitsLeft"), nil).
			When(sfn.Condition_NumberLessThan(jsii.String("$.lockWaits.count"), jsii.Number(maxLockWaits)), acquire, nil).
			Otherwise(o.failWith("LockWaitTimedOut", "Another run held the lock for too long.")))

	acquire.AddCatch(getOwner, &sfn.CatchProps{Errors: jsii.Strings(conditionFailed), ResultPath: sfn.JsonPath_DISCARD()})
	o.catch(acquire)
	o.catch(getOwner)
	getOwner.Next(sfn.NewChoice(o.scope, jsii.String("IsLockStillHeld"), nil).
		When(sfn.Condition_IsPresent(jsii.String("$.lock.Item.owner.S")), describeOwner, nil).
		When(sfn.Condition_IsPresent(jsii.String("$.lock.Item")), takeOverOwnerless, nil).
		Otherwise(acquire))
	// Someone else took it first: wait for them like for any owner.
	takeOverOwnerless.AddCatch(waitForLock, &sfn.CatchProps{Errors: jsii.Strings(conditionFailed), ResultPath: sfn.JsonPath_DISCARD()})
	o.catch(takeOverOwnerless)
	takeOverOwnerless.Next(then)
	describeOwner.AddCatch(takeOver, &sfn.CatchProps{Errors: jsii.Strings(executionNotFound), ResultPath: sfn.JsonPath_DISCARD()})
	o.catch(describeOwner)
	describeOwner.Next(sfn.NewChoice(o.scope, jsii.String("IsLockOwnerRunning"), nil).
		When(sfn.Condition_StringEquals(jsii.String("$.lockOwner.status"), jsii.String("RUNNING")), waitForLock, nil).
		Otherwise(takeOver))
	takeOver.AddCatch(waitForLock, &sfn.CatchProps{Errors: jsii.Strings(conditionFailed), ResultPath: sfn.JsonPath_DISCARD()})
	o.catch(takeOver)
	takeOver.Next(then)
	return acquire.Next(then)
}

// releaseLock deletes the lock item if this execution still owns it.
func (o *orchestration) releaseLock(id string) tasks.DynamoDeleteItem {
	task := tasks.NewDynamoDeleteItem(o.scope, jsii.String(id), &tasks.DynamoDeleteItemProps{
		Table:                     o.lock,
		Key:                       lockKey(),
		ConditionExpression:       jsii.String("#owner = :me"),
		ExpressionAttributeNames:  &map[string]*string{"#owner": jsii.String("owner")},
		ExpressionAttributeValues: &map[string]tasks.DynamoAttributeValue{":me": tasks.DynamoAttributeValue_FromString(sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id")))},
		ResultPath:                sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(task, conditionFailed)
	return task
}

// runFilterJob runs the Glue job to completion and reads the counts it wrote.
func (o *orchestration) runFilterJob(then sfn.IChainable) sfn.IChainable {
	s3url := func(prefixPath string) *string {
		return sfn.JsonPath_Format(jsii.String("s3://{}/{}"), o.bucket.BucketName(), sfn.JsonPath_StringAt(jsii.String(prefixPath)))
	}
	reportKey := sfn.JsonPath_Format(jsii.String(ReportsPrefix+"{}.json"), sfn.JsonPath_StringAt(jsii.String("$.run.runId")))
	job := tasks.NewGlueStartJobRun(o.scope, jsii.String("RunFilterJob"), &tasks.GlueStartJobRunProps{
		GlueJobName:        o.props.FilterJobName,
		IntegrationPattern: sfn.IntegrationPattern_RUN_JOB,
		Arguments: sfn.TaskInput_FromObject(&map[string]interface{}{
			"--run_id":           sfn.JsonPath_StringAt(jsii.String("$.run.runId")),
			"--input_path":       s3url("$.run.sourcePrefix"),
			"--curated_csv_path": jsii.String(fmt.Sprintf("s3://%s/%s", *o.bucket.BucketName(), CuratedPrefix)),
			// The job writes these two as Hive partitions: <prefix>run_id=<run id>/.
			"--curated_parquet_path": jsii.String(fmt.Sprintf("s3://%s/%s", *o.bucket.BucketName(), CuratedParquetPrefix)),
			"--rejected_path":        jsii.String(fmt.Sprintf("s3://%s/%s", *o.bucket.BucketName(), RejectedPrefix)),
			"--report_path":          sfn.JsonPath_Format(jsii.String(fmt.Sprintf("s3://%s/", *o.bucket.BucketName())+"{}"), reportKey),
			// Rows the last load refused (RetryMarkerKey), and where the job keeps retries and quarantine.
			"--retry_path":      jsii.String(fmt.Sprintf("s3://%s/%s", *o.bucket.BucketName(), RetryPrefix)),
			"--quarantine_path": jsii.String(fmt.Sprintf("s3://%s/%s", *o.bucket.BucketName(), QuarantinePrefix)),
		}),
		ResultPath: sfn.JsonPath_DISCARD(),
	})
	// A failed run (States.TaskFailed) is the job's answer, not a glitch:
	// only a start that did not happen is retried.
	workflow.RetryOnly(job, FilterJobStartErrors...)
	o.catch(job)
	report := tasks.NewCallAwsService(o.scope, jsii.String("ReadJobReport"), &tasks.CallAwsServiceProps{
		Service:        jsii.String("s3"),
		Action:         jsii.String("getObject"),
		Parameters:     &map[string]interface{}{"Bucket": o.bucket.BucketName(), "Key": reportKey},
		IamResources:   jsii.Strings(*o.bucket.ArnForObjects(jsii.String(ReportsPrefix + "*"))),
		ResultSelector: &map[string]interface{}{"report": sfn.JsonPath_StringToJson(sfn.JsonPath_StringAt(jsii.String("$.Body")))},
		ResultPath:     jsii.String("$.job"),
	})
	workflow.Retriable(report)
	o.catch(report)
	return sfn.Chain_Start(job).Next(report).Next(then)
}

// skipIfAlreadyProcessed goes on only if the run still has files in inbox/:
// a repeated event for a run already loaded and archived just releases the lock.
func (o *orchestration) skipIfAlreadyProcessed(then sfn.IChainable) sfn.IChainable {
	count := s3steps.CountUpToOne(o.scope, "CountSourceObjects", o.bucket, "$.run.sourcePrefix", "$.source")
	o.catch(count)
	release := o.releaseLockAfterSuccess("ReleaseLockOfProcessedRun", sfn.NewSucceed(o.scope, jsii.String("RunAlreadyProcessed"), nil))
	return count.Next(sfn.NewChoice(o.scope, jsii.String("HasSourceFiles"), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.source.count"), jsii.Number(0)), then, nil).
		Otherwise(release))
}

// releaseLockAfterSuccess releases the lock, then goes on to then. A lock
// someone took over, believing this execution gone, is no failure: the work is done.
func (o *orchestration) releaseLockAfterSuccess(id string, then sfn.IChainable) sfn.IChainable {
	release := o.releaseLock(id)
	release.AddCatch(then, &sfn.CatchProps{Errors: jsii.Strings(conditionFailed), ResultPath: sfn.JsonPath_DISCARD()})
	o.catch(release)
	return release.Next(then)
}

// moveFiles moves curated/ to processed/<run>/ and inbox/<run>/ to
// archive/<run>/, releases the lock and goes on to then. It runs only after a
// confirmed load (or when the job kept no lead).
func (o *orchestration) moveFiles(then sfn.IChainable) sfn.IChainable {
	curated := s3steps.ForEachObject(o.scope, "MoveCurated", o.bucket, "$.run.curatedPrefix", "$.movedCurated", 40,
		s3steps.Move(o.scope, s3steps.MoveIDs{Copy: "CopyCuratedToProcessed", Delete: "DeleteCuratedObject", Done: "CuratedObjectMoved"},
			o.bucket, CuratedPrefix, ProcessedPrefix, "processedPrefix"))
	curated.AddCatch(o.failed, workflow.CatchNamingState("$.error"))
	source := s3steps.ForEachObject(o.scope, "ArchiveSource", o.bucket, "$.run.sourcePrefix", "$.archivedSource", 40,
		s3steps.Move(o.scope, s3steps.MoveIDs{Copy: "CopySourceToArchive", Delete: "DeleteSourceObject", Done: "SourceObjectArchived"},
			o.bucket, SourcePrefix, ArchivePrefix, "archivePrefix"))
	source.AddCatch(o.failed, workflow.CatchNamingState("$.error"))
	return sfn.Chain_Start(curated).Next(source).Next(o.releaseLockAfterSuccess("ReleaseRunLock", then))
}
