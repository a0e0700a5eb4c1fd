package producer

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
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
	"github.com/leadbridge/leadbridge/naming"
)

// ConsumerTarget is where one consumer account receives hand-offs. The names
// come from package naming, the same functions the consumer stack uses.
type ConsumerTarget struct {
	// Name is the consumer's short name, used in state names.
	Name string
	// BucketName is the consumer's inbox bucket.
	BucketName string
	// EventBusArn is the consumer's hand-off bus.
	EventBusArn string
}

// HandoffStateMachineProps configures a HandoffStateMachine.
type HandoffStateMachineProps struct {
	// LandingBucket is where the flow writes its runs.
	LandingBucket awss3.IBucket
	// FlowName is the flow whose runs are handed off.
	FlowName *string
	// Consumers receive a copy of every run and one event each.
	Consumers *[]*ConsumerTarget
	// RoleName is fixed so that consumers can trust the role by name before it exists.
	RoleName *string
	// Timeout bounds one execution.
	// Default: - 6 hours.
	Timeout awscdk.Duration
	// CopyConcurrency is how many objects are copied at once: Express
	// children of the copy Map at once, 10 objects at once in each (above 10,
	// rounded up to a multiple of 10).
	// Default: - 40.
	CopyConcurrency *float64
	// AlarmEmail is subscribed to the failed-execution alarm.
	// Default: - no subscription.
	AlarmEmail *string
}

// HandoffStateMachine copies each run of the flow to every consumer, archives
// it once every copy is confirmed, and then tells each consumer.
//
// Input is the AppFlow "End Flow Run Report" event. Safe to run twice on the
// same event: copies overwrite with the same bytes, a source already archived
// is skipped (counted in skippedCount, not as copied), and a run found only in
// archive/ is announced again.
type HandoffStateMachine struct {
	constructs.Construct
	StateMachine sfn.StateMachine
	flowName     *string
	// Role has the fixed RoleName that consumer bucket and bus policies trust.
	Role       awsiam.Role
	Monitoring workflow.Parts
}

var (
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	bucketNamePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	eventBusArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[\w.-]+$`)
)

func (p *HandoffStateMachineProps) validate() error {
	var errs []error
	if p.LandingBucket == nil {
		errs = append(errs, errors.New("LandingBucket is required"))
	}
	if p.FlowName == nil || *p.FlowName == "" {
		errs = append(errs, errors.New("FlowName is required"))
	}
	if p.RoleName == nil || !roleNamePattern.MatchString(*p.RoleName) {
		errs = append(errs, fmt.Errorf("RoleName must be an IAM role name of 1 to 64 characters, got %q", deref(p.RoleName)))
	}
	if p.CopyConcurrency != nil && (*p.CopyConcurrency < 1 || *p.CopyConcurrency > 1000) {
		errs = append(errs, fmt.Errorf("CopyConcurrency must be from 1 to 1000, got %g", *p.CopyConcurrency))
	}
	if p.Consumers == nil || len(*p.Consumers) == 0 {
		errs = append(errs, errors.New("Consumers must list at least one consumer, got none"))
		return errors.Join(errs...)
	}
	seen := map[string]bool{}
	for i, c := range *p.Consumers {
		key := fmt.Sprintf("Consumers[%d]", i)
		if c == nil {
			errs = append(errs, fmt.Errorf("%s is nil", key))
			continue
		}
		errs = append(errs,
			validate.ConsumerName(key+".Name", c.Name),
			validate.Match(key+".BucketName", c.BucketName, bucketNamePattern, "an S3 bucket name"),
			validate.Match(key+".EventBusArn", c.EventBusArn, eventBusArnPattern, "an event bus ARN"))
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("%s.Name %q is used twice", key, c.Name))
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}

// NewHandoffStateMachine creates the state machine and its role.
func NewHandoffStateMachine(scope constructs.Construct, id *string, props *HandoffStateMachineProps) *HandoffStateMachine {
	if props == nil {
		props = &HandoffStateMachineProps{}
	}
	validate.Must("HandoffStateMachine", props.validate())
	this := constructs.NewConstruct(scope, id)
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:  props.RoleName,
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
	})
	h := &handoffDefinition{scope: this, props: props, landing: props.LandingBucket}
	timeout := props.Timeout
	if timeout == nil {
		timeout = awscdk.Duration_Hours(jsii.Number(6))
	}
	parts := workflow.NewStateMachine(this, &workflow.Props{
		Definition: h.build(), Role: role, Timeout: timeout, AlarmEmail: props.AlarmEmail,
	})
	workflow.PutMetricsOnlyInNamespace(role)
	// S3 uses the landing key for the role: reading each object for its
	// copies, and writing archive/ and the Map Runs' results.
	databucket.GrantKeyUse(props.LandingBucket, "HandoffMovesRuns", databucket.RoleOfThisAccount(role), databucket.ReadWrite)
	grantConsumerKeys(role, *props.Consumers)
	workflow.SuppressWildcards(role, "Each consumer's inbox key is generated in its account: any key of that account, only through S3 and only for that inbox bucket (conditions).",
		`/^Resource::arn:[^:]+:kms:[^:]+:\d{12}:key\/\*$/g`)
	workflow.SuppressWildcards(role, "Runs are folders of objects: the role reads and deletes landing/*, writes archive/* and each consumer's inbox/*.",
		`/^Resource::.*\/(landing|archive|inbox)\/\*$/g`)
	workflow.SuppressWildcards(role, "DescribeMapRun (read-only) counts the objects of this state machine's Map Runs; their ARNs hold its generated name, which its own role cannot name without a circular dependency.",
		`/^Resource::arn:(<AWS::Partition>|[^:]+):states:[^:]+:\d{12}:mapRun:\*$/g`)
	s3steps.SuppressResultsWildcard(role)
	return &HandoffStateMachine{Construct: this, StateMachine: parts.StateMachine, flowName: props.FlowName, Role: role, Monitoring: parts}
}

// handoffDefinition builds the states; it keeps the props at hand.
type handoffDefinition struct {
	scope   constructs.Construct
	props   *HandoffStateMachineProps
	landing awss3.IBucket
}

func (h *handoffDefinition) build() sfn.IChainable {
	// Nothing is archived that every consumer does not have. The cause names
	// the run, the step that failed after its retries and its cause (its
	// error name is in the history: a Fail state may not re-raise a States.* error).
	failed := sfn.NewFail(h.scope, jsii.String("HandoffFailed"), &sfn.FailProps{
		Error:     jsii.String("HandoffFailed"),
		CausePath: workflow.FailureCausePath("$.run.runId", "$.error.Cause"),
	})
	catch := func(t sfn.TaskStateBase) {
		t.AddCatch(failed, workflow.CatchNamingState("$.error"))
	}

	flowName := *h.props.FlowName
	// `'` is reserved inside intrinsic functions (Step Functions guide,
	// intrinsic functions), so the hyphenated field is read with a plain
	// path first and formatted from there.
	readRunID := sfn.NewPass(h.scope, jsii.String("ReadRunIdFromEvent"), &sfn.PassProps{
		Comment:    jsii.String("The AppFlow execution id names the run's folder and is the run id consumers see."),
		Parameters: &map[string]interface{}{"runId.$": "$.detail['execution-id']"},
		ResultPath: jsii.String("$.event"),
	})
	// The event stays in state beside the run: DidRunReportRecords reads its count.
	readRun := sfn.NewPass(h.scope, jsii.String("ReadRunFromEvent"), &sfn.PassProps{
		Parameters: &map[string]interface{}{
			"runId.$":         "$.event.runId",
			"sourcePrefix.$":  fmt.Sprintf("States.Format('%s', $.event.runId)", RunFolder(LandingPrefix, flowName)),
			"archivePrefix.$": fmt.Sprintf("States.Format('%s', $.event.runId)", RunFolder(ArchivePrefix, flowName)),
			"inboxPrefix.$":   fmt.Sprintf("States.Format('%s{}/', $.event.runId)", naming.InboxSourcePrefix),
		},
		ResultPath: jsii.String("$.run"),
	})

	checkLanding := s3steps.CountUpToOne(h.scope, "CountLandedObjects", h.landing, "$.run.sourcePrefix", "$.landed")
	checkArchive := s3steps.CountUpToOne(h.scope, "CountArchivedObjects", h.landing, "$.run.archivePrefix", "$.archived")
	catch(checkLanding)
	catch(checkArchive)

	concurrency := 40.0
	if h.props.CopyConcurrency != nil {
		concurrency = *h.props.CopyConcurrency
	}
	copyMap := s3steps.SummarizeEachObject(h.scope, "CopyToConsumers", h.landing, "$.run.sourcePrefix", "$.copied", concurrency,
		h.copyToConsumers(), h.countCopiesOfChild())
	copyMap.AddCatch(failed, workflow.CatchNamingState("$.error"))
	countCopied := h.countCopiedObjects()
	archive := s3steps.Move(h.scope, s3steps.MoveIDs{Copy: "CopyToArchive", Delete: "DeleteLandedObject", Done: "ObjectArchived"},
		h.landing, LandingPrefix, ArchivePrefix, "archivePrefix")
	archiveMap := s3steps.ForEachObject(h.scope, "ArchiveRun", h.landing, "$.run.sourcePrefix", "$.archivedNow", concurrency, archive)
	archiveMap.AddCatch(failed, workflow.CatchNamingState("$.error"))

	publish := h.publishHandoffCounts("PublishHandoffCounts", catch)
	notify := h.notifyConsumers(catch)
	publish.Next(notify.first)
	notify.Next(sfn.NewSucceed(h.scope, jsii.String("HandedOff"), nil))

	// A repeated event finds the run archived: every copy was confirmed, but
	// the announcement may have failed, so announce again; consumers treat a
	// run whose files they already archived as done. This execution copied
	// none of the run's objects: the archive's count is what it skipped.
	recount := s3steps.ForEachObject(h.scope, "CountArchivedRun", h.landing, "$.run.archivePrefix", "$.copied", concurrency,
		s3steps.Done(h.scope, "ObjectAlreadyHandedOff"))
	recount.AddCatch(failed, workflow.CatchNamingState("$.error"))
	countArchived := s3steps.CountItems(h.scope, "CountArchivedRunObjects", "$.copied", "$.copied", map[string]interface{}{
		"objectCount": 0, "skippedCount": s3steps.SucceededItems, "skippedReason": alreadyHandedOff,
	})
	catch(countArchived)
	recount.Next(countArchived).Next(publish)

	// A run that reported records but left no file anywhere lost them
	// between AppFlow and the bucket (or writes where RunFolder does not
	// look): the execution fails, and so alarms, instead of ending quietly.
	// AppFlow reports the count as a string (AppFlow guide, flow
	// notifications). An event without it (a hand-off started by hand) proves
	// nothing either, so only a reported "0" ends quietly.
	filesMissing := sfn.NewFail(h.scope, jsii.String("RunFilesMissing"), &sfn.FailProps{
		Error: jsii.String("RunFilesMissing"),
		Cause: jsii.String(fmt.Sprintf("AppFlow reported records for this run (or no count) but no file is under %s<execution id>/ or %s<execution id>/",
			strings.TrimSuffix(RunFolder(LandingPrefix, flowName), "{}/"), strings.TrimSuffix(RunFolder(ArchivePrefix, flowName), "{}/"))),
	})
	records := jsii.String("$.detail['num-of-records-processed']")
	noFiles := sfn.NewChoice(h.scope, jsii.String("DidRunReportRecords"), nil).
		When(sfn.Condition_And(sfn.Condition_IsPresent(records), sfn.Condition_StringEquals(records, jsii.String("0"))),
			sfn.NewSucceed(h.scope, jsii.String("RunWroteNoFiles"), nil), nil).
		Otherwise(filesMissing)

	handOff := sfn.Chain_Start(copyMap).Next(countCopied).Next(archiveMap).Next(publish)
	alreadyDone := sfn.NewChoice(h.scope, jsii.String("WasRunArchived"), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.archived.count"), jsii.Number(0)), recount, nil).
		Otherwise(noFiles)

	return sfn.Chain_Start(readRunID).Next(readRun).Next(checkLanding).Next(
		sfn.NewChoice(h.scope, jsii.String("DidRunLandFiles"), nil).
			When(sfn.Condition_NumberGreaterThan(jsii.String("$.landed.count"), jsii.Number(0)), handOff, nil).
			Otherwise(sfn.Chain_Start(checkArchive).Next(alreadyDone)))
}

// alreadyHandedOff is why a hand-off skips an object (see ObjectsSkippedMetric).
const alreadyHandedOff = "already handed off: another execution for this run copied it to every consumer and archived it"

// copyToConsumers copies one object into every consumer's inbox, one after
// the other, and ends with {"copied": 1}, or with {"skipped": 1} when its
// source is gone.
func (h *handoffDefinition) copyToConsumers() sfn.IChainable {
	copied := sfn.NewPass(h.scope, jsii.String("ObjectCopied"), &sfn.PassProps{
		Result: sfn.Result_FromObject(&map[string]interface{}{"copied": 1}),
	})
	// The source is gone only once an execution archived it, which it
	// does only after every copy succeeded: every consumer has it, but not
	// from this execution.
	skipped := sfn.NewPass(h.scope, jsii.String("ObjectAlreadyArchived"), &sfn.PassProps{
		Result: sfn.Result_FromObject(&map[string]interface{}{"skipped": 1}),
	})
	var chain sfn.Chain
	for _, c := range *h.props.Consumers {
		arn := fmt.Sprintf("arn:%s:s3:::%s", *awscdk.Aws_PARTITION(), c.BucketName)
		task := s3steps.Copy(h.scope, "CopyTo_"+c.Name, &s3steps.CopyProps{
			Source: h.landing, SourcePrefix: LandingPrefix,
			TargetBucketName: jsii.String(c.BucketName), TargetBucketArn: arn, TargetPrefix: naming.InboxSourcePrefix,
			TargetFolder: "inboxPrefix",
		})
		task.AddCatch(skipped, &sfn.CatchProps{Errors: jsii.Strings(s3steps.NoSuchKey)})
		if chain == nil {
			chain = sfn.Chain_Start(task)
		} else {
			chain = chain.Next(task)
		}
	}
	return chain.Next(copied)
}

// countCopiesOfChild ends a child of CopyToConsumers with how many of its
// objects it copied and skipped: a few bytes per child in the Map's result.
func (h *handoffDefinition) countCopiesOfChild() sfn.IChainable {
	return sfn.Pass_Jsonata(h.scope, jsii.String("CountCopiesOfChild"), &sfn.PassJsonataProps{
		Outputs: `{% {"copied": $sum([0, $states.input.copied]), "skipped": $sum([0, $states.input.skipped])} %}`,
	})
}

// countCopiedObjects adds up the children's counts at $.copied (0 for none): objectCount
// (copied by this execution), skippedCount and skippedReason.
func (h *handoffDefinition) countCopiedObjects() sfn.IChainable {
	return sfn.Pass_Jsonata(h.scope, jsii.String("CountCopiedObjects"), &sfn.PassJsonataProps{
		Outputs: fmt.Sprintf(`{%% $merge([$states.input, {"copied": {
  "objectCount": $sum([0, $states.input.copied.copied]),
  "skippedCount": $sum([0, $states.input.copied.skipped]),
  "skippedReason": %q
}}]) %%}`, alreadyHandedOff),
	})
}

// announcement is the chain of PutEvents states, one per consumer.
type announcement struct {
	first, last sfn.TaskStateBase
}

// Next continues after the last consumer was told.
func (a announcement) Next(next sfn.IChainable) { a.last.Next(next) }

// notifyConsumers puts one event on each consumer's bus, one after the other.
func (h *handoffDefinition) notifyConsumers(catch func(sfn.TaskStateBase)) announcement {
	var a announcement
	for _, c := range *h.props.Consumers {
		bus := awsevents.EventBus_FromEventBusArn(h.scope, jsii.String("Bus_"+c.Name), jsii.String(c.EventBusArn))
		task := tasks.NewEventBridgePutEvents(h.scope, jsii.String("Notify_"+c.Name), &tasks.EventBridgePutEventsProps{
			Entries: &[]*tasks.EventBridgePutEventsEntry{{
				EventBus:   bus,
				Source:     jsii.String(naming.HandoffEventSource),
				DetailType: jsii.String(naming.HandoffDetailType),
				Detail: sfn.TaskInput_FromObject(&map[string]interface{}{
					"runId":        sfn.JsonPath_StringAt(jsii.String("$.run.runId")),
					"bucket":       c.BucketName,
					"prefix":       sfn.JsonPath_StringAt(jsii.String("$.run.inboxPrefix")),
					"objectCount":  sfn.JsonPath_NumberAt(jsii.String("$.copied.objectCount")),
					"skippedCount": sfn.JsonPath_NumberAt(jsii.String("$.copied.skippedCount")),
				}),
			}},
			ResultPath: sfn.JsonPath_DISCARD(),
		})
		workflow.Retriable(task)
		catch(task)
		if a.first == nil {
			a.first = task
		} else {
			a.last.Next(task)
		}
		a.last = task
	}
	return a
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
