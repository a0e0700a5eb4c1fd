// Package s3steps builds the Step Functions states that both state machines
// use to work through a folder of objects: a Distributed Map over a prefix
// that writes its results to S3 and is counted from its Map Run, and per
// object a copy (a JSONata state, for the URL encoding), a delete, or a move
// (copy, then delete).
//
// The states expect the execution's state to carry `run`, an object with the
// run's prefixes; each item sees `key` (the object's key), `fileName` (its last
// path segment) and `run`.
package s3steps

import (
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

// ForEachObject runs processor once per object under the prefix at
// prefixPath. The Distributed Map pages through the listing itself, so no
// list of keys ever has to fit in the 256 KiB state payload, and it writes the
// items' results to bucket under databucket.MapResultsPrefix (its
// ResultWriter) instead of returning them: without a ResultWriter a
// Distributed Map returns an array of every child's output, which grows with
// the object count until it breaks the payload limit (Step Functions guide,
// "ResultWriter (Map)"). At resultPath it leaves only the Map Run's ARN and
// where the results went; CountItems turns that into a count.
func ForEachObject(scope constructs.Construct, id string, bucket awss3.IBucket, prefixPath, resultPath string, concurrency float64, processor sfn.IChainable) sfn.DistributedMap {
	m := sfn.NewDistributedMap(scope, jsii.String(id), &sfn.DistributedMapProps{
		ItemReader: sfn.NewS3ObjectsItemReader(&sfn.S3ObjectsItemReaderProps{
			Bucket: bucket,
			Prefix: sfn.JsonPath_StringAt(jsii.String(prefixPath)),
		}),
		ItemSelector: &map[string]interface{}{
			"key.$":      "$$.Map.Item.Value.Key",
			"fileName.$": itemFileName,
			"run.$":      "$.run",
		},
		MaxConcurrency: jsii.Number(concurrency),
		// Standard children: a 5 GB copy can outlast an Express child's 5 minutes.
		MapExecutionType: sfn.StateMachineType_STANDARD,
		ResultWriterV2:   newResultsWriter(bucket),
		ResultPath:       jsii.String(resultPath),
	})
	// CDK renders ResultWriterV2 only where the feature flag
	// @aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2 is true and
	// renders no ResultWriter at all otherwise (aws-cdk-lib
	// aws-stepfunctions/lib/states/distributed-map.js, getResultWriter), which
	// would fail every run at CountItems. The flag is read with
	// FeatureFlags.of(map), nearest node first: set on the map itself, it holds
	// whatever the importing app's cdk.json says. The map has no children yet.
	m.Node().SetContext(jsii.String(ResultWriterV2Flag), true)
	m.ItemProcessor(processor, nil)
	return m
}

// ResultWriterV2Flag is the feature flag that makes CDK render a Distributed
// Map's ResultWriterV2; ForEachObject sets it on each map it builds.
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

// CountItems reads how many items of the Map Run at mapResultPath (a
// ForEachObject's resultPath) succeeded: resultPath + ".objectCount". A Map
// state ends only when its Map Run has, so the count is final; and it is the
// object count, because any failed item fails the Map (no tolerated failures).
// The Map Run's name is generated at run time: DescribeMapRun is allowed on
// this account's Map Runs in this region.
func CountItems(scope constructs.Construct, id string, mapResultPath, resultPath string) tasks.CallAwsService {
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
		ResultSelector: &map[string]interface{}{"objectCount": sfn.JsonPath_NumberAt(jsii.String("$.ItemCounts.Succeeded"))},
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
