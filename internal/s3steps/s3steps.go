// Package s3steps builds the Step Functions states that both state machines
// use to work through a folder of objects: a Distributed Map over a prefix
// whose Express children each take a batch of objects, and that writes its
// results to S3 and is counted from its Map Run (or returns one summary per
// child); and per object a copy (a JSONata state, for the URL encoding), a
// delete, or a move (copy, then delete).
//
// The states expect the execution's state to carry `run`, an object with the
// run's prefixes; each item sees `key` (the object's key), `fileName` (its last
// path segment) and `run`.
package s3steps

import (
	"math"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// NoSuchKey is the error an aws-sdk S3 task raises for a missing object.
const NoSuchKey = "S3.NoSuchKeyException"

// itemFileName is an object's name without its folders: run folders are flat.
const itemFileName = "States.ArrayGetItem(States.StringSplit($$.Map.Item.Value.Key, '/'), " +
	"States.MathAdd(States.ArrayLength(States.StringSplit($$.Map.Item.Value.Key, '/')), -1))"

// How a Distributed Map over a folder splits its objects among child
// executions. Each child is an Express workflow that works through up to
// ObjectsPerChild objects, objectsAtOnce at a time (an inline Map):
// a Standard child per object costs its states as transitions, an Express
// child costs one request and its duration (Step Functions pricing page), so
// batching turns a cost per object into a cost per hundred objects.
//
// An Express execution may run at most 5 minutes (Step Functions guide,
// quotas: "Maximum execution time ... Express ... 5 minutes", after which it
// fails with States.Timeout). A child makes at most ceil(100 / 10) = 10
// rounds of requests per object step; at the 2 s after which S3 advises
// retrying a small request (S3 performance guidelines, timeouts and retries
// for latency-sensitive applications) that is 20 s per request of an object,
// so a child of the hand-off with two copies per object needs about 40 s when
// every request is slow but answers. Retries lengthen that: each task retries
// up to 6 times, 2 s to 60 s apart (workflow.Retriable), about 2 minutes for
// one request S3 keeps refusing (503 Slow Down), so a child that meets
// throttling across several rounds can reach the 5 minutes. A copy of a
// large object takes longer: S3 documents no duration for CopyObject (up to
// 5 GB in one call), and answers 200 OK before a long copy ends (Amazon S3
// API Reference, CopyObject). The objects here are AppFlow's
// output files (a Marketo flow moves at most 1 GB a run by default, AppFlow
// guide, marketo.html) and the curated CSV (under 125 MB, AppFlow guide,
// s3.html). A child that still runs out of time fails its Map Run, and so
// the execution, before anything is archived or deleted: an alarm, never a
// loss; running again copies the same objects again.
//
// Express children run at least once: a redriven Map Run starts them again
// with StartExecution (Step Functions API reference, RedriveExecution), and
// an asynchronous Express execution may run more than once (Step Functions
// guide, execution guarantees). Every processor here is idempotent: a copy
// overwrites with the same bytes, a delete of a missing object succeeds, a
// copy whose source is gone was already moved.
const (
	ObjectsPerChild = 100
	objectsAtOnce   = 10
	// A child's input is one batch: at most 256 KiB, like every payload
	// (Step Functions guide, quotas). Object keys may be up to 1,024 bytes,
	// so the batch is also capped in bytes, leaving room for BatchInput.
	maxBatchBytes = 200 * 1024
)

// ForEachObject runs processor once per object under the prefix at
// prefixPath. The Distributed Map pages through the listing itself, so no
// list of keys ever has to fit in the 256 KiB state payload, and it writes the
// children's results to bucket under databucket.MapResultsPrefix (its
// ResultWriter) instead of returning them: without a ResultWriter a
// Distributed Map returns an array of every child's output, which grows with
// the object count until it breaks the payload limit (Step Functions guide,
// "ResultWriter (Map)"). At resultPath it leaves only the Map Run's ARN and
// where the results went; CountItems turns that into a count.
func ForEachObject(scope constructs.Construct, id string, bucket awss3.IBucket, prefixPath, resultPath string, concurrency float64, processor sfn.IChainable) sfn.DistributedMap {
	m := objectMap(scope, id, bucket, prefixPath, resultPath, concurrency, newResultsWriter(bucket))
	m.ItemProcessor(eachObjectOfChild(scope, id, concurrency, processor), nil)
	return m
}

// SummarizeEachObject runs processor once per object like ForEachObject, and
// each child then runs summary, which turns the array of its objects'
// outputs (at $) into the child's small result. The Map returns those
// results into state at resultPath, one per ObjectsPerChild objects (no
// ResultWriter): a summary of 30 bytes keeps the array under the 256 KiB
// payload limit up to about 800,000 objects, and a run beyond that fails
// with States.DataLimitExceeded before anything is archived.
func SummarizeEachObject(scope constructs.Construct, id string, bucket awss3.IBucket, prefixPath, resultPath string, concurrency float64, processor, summary sfn.IChainable) sfn.DistributedMap {
	m := objectMap(scope, id, bucket, prefixPath, resultPath, concurrency, nil)
	m.ItemProcessor(sfn.Chain_Start(eachObjectOfChild(scope, id, concurrency, processor)).Next(summary), nil)
	return m
}

// objectMap is the Distributed Map over the prefix at prefixPath, its items
// batched into Express children. Each child receives {"Items": [the S3
// listing's entries], "BatchInput": {"run": ...}}.
func objectMap(scope constructs.Construct, id string, bucket awss3.IBucket, prefixPath, resultPath string, concurrency float64, writer sfn.ResultWriterV2) sfn.DistributedMap {
	return BatchMap(scope, id, &BatchMapProps{
		Bucket: bucket, Prefix: sfn.JsonPath_StringAt(jsii.String(prefixPath)), ResultPath: resultPath,
		ObjectsPerChild: ObjectsPerChild, BatchInput: map[string]interface{}{"run.$": "$.run"},
		// concurrency objects at once: children at once times objects at once in each.
		ChildrenAtOnce: math.Ceil(concurrency / objectsAtOnceInChild(concurrency)),
		ResultWriter:   writer,
	})
}

// BatchMapProps configures BatchMap.
type BatchMapProps struct {
	// Bucket and Prefix (a literal or a JSONPath) name the folder listed.
	Bucket awss3.IBucket
	Prefix *string
	// ResultPath receives the Map's result: the children's outputs, or
	// where ResultWriter wrote them.
	ResultPath string
	// ObjectsPerChild is at most how many objects a child gets.
	ObjectsPerChild float64
	// BatchInput is added to every child's input (a JSONPath payload template).
	BatchInput map[string]interface{}
	// ChildrenAtOnce bounds the children running at once.
	ChildrenAtOnce float64
	// ResultWriter writes the children's outputs to S3 instead of ResultPath.
	// Default: - none: the outputs return into state.
	ResultWriter sfn.ResultWriterV2
}

// BatchMap is a Distributed Map (JSONPath) over the objects under
// a prefix, any number of them, in Express children of up to
// ObjectsPerChild objects each: a child receives {"Items": [the S3
// listing's entries: Key, LastModified, Size, ...], "BatchInput": ...}.
func BatchMap(scope constructs.Construct, id string, props *BatchMapProps) sfn.DistributedMap {
	m := sfn.NewDistributedMap(scope, jsii.String(id), &sfn.DistributedMapProps{
		ItemReader: sfn.NewS3ObjectsItemReader(&sfn.S3ObjectsItemReaderProps{Bucket: props.Bucket, Prefix: props.Prefix}),
		ItemBatcher: sfn.NewItemBatcher(&sfn.ItemBatcherProps{
			MaxItemsPerBatch:      jsii.Number(props.ObjectsPerChild),
			MaxInputBytesPerBatch: jsii.Number(maxBatchBytes),
			BatchInput:            &props.BatchInput,
		}),
		MaxConcurrency:   jsii.Number(props.ChildrenAtOnce),
		MapExecutionType: sfn.StateMachineType_EXPRESS,
		ResultWriterV2:   props.ResultWriter,
		ResultPath:       jsii.String(props.ResultPath),
	})
	// CDK renders ResultWriterV2 only where the feature flag
	// @aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2 is true and
	// renders no ResultWriter at all otherwise (aws-cdk-lib
	// aws-stepfunctions/lib/states/distributed-map.js, getResultWriter), which
	// would fail every run at CountItems. The flag is read with
	// FeatureFlags.of(map), nearest node first: set on the map itself, it holds
	// whatever the importing app's cdk.json says. The map has no children yet.
	m.Node().SetContext(jsii.String(ResultWriterV2Flag), true)
	return m
}

// objectsAtOnceInChild is how many objects a child works on at once.
func objectsAtOnceInChild(concurrency float64) float64 {
	return math.Min(concurrency, objectsAtOnce)
}

// eachObjectOfChild is the inline Map with which a child runs processor on
// each object of its batch; each object sees key, fileName and run.
func eachObjectOfChild(scope constructs.Construct, mapID string, concurrency float64, processor sfn.IChainable) sfn.Map {
	m := sfn.NewMap(scope, jsii.String(mapID+"EachObject"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Items"),
		ItemSelector: &map[string]interface{}{
			"key.$":      "$$.Map.Item.Value.Key",
			"fileName.$": itemFileName,
			"run.$":      "$.BatchInput.run",
		},
		MaxConcurrency: jsii.Number(objectsAtOnceInChild(concurrency)),
	})
	m.ItemProcessor(processor, nil)
	return m
}

// ResultWriterV2Flag is the feature flag that makes CDK render a Distributed
// Map's ResultWriterV2; BatchMap sets it on each map it builds.
const ResultWriterV2Flag = "@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2"

// resultsWriter is CDK's ResultWriterV2 with its grant narrowed to the
// results prefix: CDK's own allows writing every key of the bucket. The
// actions are those the Step Functions guide lists for a ResultWriter ("IAM
// policies for using Distributed Map states").
type resultsWriter struct {
	sfn.ResultWriterV2
	bucket awss3.IBucket
}

func newResultsWriter(bucket awss3.IBucket) *resultsWriter {
	w := &resultsWriter{bucket: bucket}
	sfn.NewResultWriterV2_Override(w, &sfn.ResultWriterV2Props{Bucket: bucket, Prefix: jsii.String(databucket.MapResultsPrefix)})
	return w
}

// ProvidePolicyStatements is called by the Distributed Map for its role.
func (w *resultsWriter) ProvidePolicyStatements() *[]awsiam.PolicyStatement {
	return &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"),
		Resources: jsii.Strings(*w.bucket.ArnForObjects(jsii.String(databucket.MapResultsPrefix + "*"))),
	})}
}

// SuppressResultsWildcard records on the role of a state machine that uses
// ForEachObject why it may write every key under the results prefix: each
// Map Run writes under map-results/<Map Run id>/, named at run time.
func SuppressResultsWildcard(role awsiam.IRole) {
	workflow.SuppressWildcards(role, "A Distributed Map writes its results under "+databucket.MapResultsPrefix+"<Map Run id>/, named at run time.",
		`/^Resource::.*\/`+strings.TrimSuffix(databucket.MapResultsPrefix, "/")+`\/\*$/g`)
}

// SucceededItems is, in the selector of CountItems, the number of items of
// the Map Run that succeeded (with an ItemBatcher too: DescribeMapRun counts
// items, and child executions apart; Step Functions API reference,
// MapRunItemCounts and MapRunExecutionCounts).
var SucceededItems = sfn.JsonPath_NumberAt(jsii.String("$.ItemCounts.Succeeded"))

// CountItems describes the Map Run at mapResultPath (a ForEachObject's
// resultPath) and puts selector, which may use SucceededItems, at
// resultPath. A Map state ends only when its Map Run has, so the count is
// final; and it is the object count, because any failed item fails the Map
// (no tolerated failures). The Map Run's name is generated at run time:
// DescribeMapRun is allowed on this account's Map Runs in this region.
func CountItems(scope constructs.Construct, id string, mapResultPath, resultPath string, selector map[string]interface{}) tasks.CallAwsService {
	stack := awscdk.Stack_Of(scope)
	task := tasks.NewCallAwsService(scope, jsii.String(id), &tasks.CallAwsServiceProps{
		Service:    jsii.String("sfn"),
		Action:     jsii.String("describeMapRun"),
		Parameters: &map[string]interface{}{"MapRunArn": sfn.JsonPath_StringAt(jsii.String(mapResultPath + ".MapRunArn"))},
		IamAction:  jsii.String("states:DescribeMapRun"),
		IamResources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("states"), Resource: jsii.String("mapRun"), ResourceName: jsii.String("*"),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})),
		ResultSelector: &selector,
		ResultPath:     jsii.String(resultPath),
	})
	workflow.Retriable(task)
	return task
}

// Done ends an item with a constant output of a few bytes, written to the
// Map's results in S3, never into state.
func Done(scope constructs.Construct, id string) sfn.Pass {
	return sfn.NewPass(scope, jsii.String(id), &sfn.PassProps{Result: sfn.Result_FromNumber(jsii.Number(1))})
}

// CountUpToOne lists at most one key under the prefix at prefixPath, to
// tell whether it is empty: resultPath + ".count" is 0 or 1.
func CountUpToOne(scope constructs.Construct, id string, bucket awss3.IBucket, prefixPath, resultPath string) tasks.CallAwsService {
	task := tasks.NewCallAwsService(scope, jsii.String(id), &tasks.CallAwsServiceProps{
		Service: jsii.String("s3"),
		Action:  jsii.String("listObjectsV2"),
		Parameters: &map[string]interface{}{
			"Bucket":  bucket.BucketName(),
			"Prefix":  sfn.JsonPath_StringAt(jsii.String(prefixPath)),
			"MaxKeys": 1,
		},
		// The IAM action for ListObjectsV2 is s3:ListBucket, not s3:listObjectsV2.
		IamAction:      jsii.String("s3:ListBucket"),
		IamResources:   jsii.Strings(*bucket.BucketArn()),
		ResultSelector: &map[string]interface{}{"count": sfn.JsonPath_NumberAt(jsii.String("$.KeyCount"))},
		ResultPath:     jsii.String(resultPath),
	})
	workflow.Retriable(task)
	return task
}

// CopyProps configures Copy.
type CopyProps struct {
	// Source holds the object at $.key, under SourcePrefix.
	Source       awss3.IBucket
	SourcePrefix string
	// TargetBucketName and TargetBucketArn name the bucket written to, under TargetPrefix.
	TargetBucketName *string
	TargetBucketArn  string
	TargetPrefix     string
	// TargetFolder names the field of $.run that holds the target folder;
	// the object keeps its file name there.
	TargetFolder string
}

// encodedCopySource is CopySource as S3 requires it: "The value must be
// URL-encoded" (Amazon S3 API Reference, CopyObject, x-amz-copy-source).
// Python's botocore encodes it for its callers, most SDKs do not (aws/aws-sdk-js#1821,
// awslabs/aws-sdk-rust#1357), and an aws-sdk task's parameters are taken as
// given. JSONPath has no encoder, so this is JSONata: each path segment of
// the key through $encodeUrlComponent (spaces, +, %, =, & and non-ASCII
// letters are escaped; S3 decodes them), the slashes kept.
func encodedCopySource(bucketName string) string {
	return "{% '" + bucketName + "/' & $join($map($split($states.input.key, '/'), $encodeUrlComponent), '/') %}"
}

// Copy copies the item's object. S3 has no IAM action named CopyObject: it
// takes s3:GetObject on the source and s3:PutObject on the target
// (aws/aws-cdk#27573), so both are set here instead of the derived one.
// The state is JSONata (for encodedCopySource) in a JSONPath state machine;
// it passes its input on unchanged. NoSuchKey is not retried, so that the
// caller can catch it.
func Copy(scope constructs.Construct, id string, props *CopyProps) tasks.CallAwsService {
	task := tasks.CallAwsService_Jsonata(scope, jsii.String(id), &tasks.CallAwsServiceJsonataProps{
		Service: jsii.String("s3"),
		Action:  jsii.String("copyObject"),
		Parameters: &map[string]interface{}{
			"Bucket":     props.TargetBucketName,
			"Key":        "{% $states.input.run." + props.TargetFolder + " & $states.input.fileName %}",
			"CopySource": encodedCopySource(*props.Source.BucketName()),
			// Replace, not copy, tags: no s3:GetObjectTagging needed on the source.
			"TaggingDirective": "REPLACE",
		},
		IamAction:    jsii.String("s3:PutObject"),
		IamResources: jsii.Strings(props.TargetBucketArn + "/" + props.TargetPrefix + "*"),
		AdditionalIamStatements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:GetObject"),
			Resources: jsii.Strings(*props.Source.ArnForObjects(jsii.String(props.SourcePrefix + "*"))),
		})},
		Outputs: "{% $states.input %}",
	})
	workflow.Retriable(task, NoSuchKey)
	return task
}

// Delete deletes the item's object; deleting a missing object succeeds.
func Delete(scope constructs.Construct, id string, bucket awss3.IBucket, prefix string) tasks.CallAwsService {
	task := tasks.NewCallAwsService(scope, jsii.String(id), &tasks.CallAwsServiceProps{
		Service:      jsii.String("s3"),
		Action:       jsii.String("deleteObject"),
		Parameters:   &map[string]interface{}{"Bucket": bucket.BucketName(), "Key": sfn.JsonPath_StringAt(jsii.String("$.key"))},
		IamAction:    jsii.String("s3:DeleteObject"),
		IamResources: jsii.Strings(*bucket.ArnForObjects(jsii.String(prefix + "*"))),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(task)
	return task
}

// MoveIDs names the states of one Move.
type MoveIDs struct{ Copy, Delete, Done string }

// Move moves the item's object within bucket, from sourcePrefix to the
// folder in $.run.<targetFolder> under targetPrefix: copy, then delete only
// once the copy is confirmed. A source already gone was moved by an earlier execution.
func Move(scope constructs.Construct, ids MoveIDs, bucket awss3.IBucket, sourcePrefix, targetPrefix, targetFolder string) sfn.IChainable {
	done := Done(scope, ids.Done)
	cp := Copy(scope, ids.Copy, &CopyProps{
		Source: bucket, SourcePrefix: sourcePrefix,
		TargetBucketName: bucket.BucketName(), TargetBucketArn: *bucket.BucketArn(), TargetPrefix: targetPrefix,
		TargetFolder: targetFolder,
	})
	cp.AddCatch(done, &sfn.CatchProps{Errors: jsii.Strings(NoSuchKey)})
	return sfn.Chain_Start(cp).Next(Delete(scope, ids.Delete, bucket, sourcePrefix)).Next(done)
}
