// Package s3steps builds the Step Functions states that both state machines
// use to work through a folder of objects: a Distributed Map over a prefix,
// and per object a copy, a delete, or a move (copy, then delete).
//
// The states expect the execution's state to carry `run`, an object with the
// run's prefixes; each item sees `key` (the object's key), `fileName` (its last
// path segment) and `run`.
package s3steps

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// NoSuchKey is the error an aws-sdk S3 task raises for a missing object.
const NoSuchKey = "S3.NoSuchKeyException"

// itemFileName is an object's name without its folders: run folders are flat.
const itemFileName = "States.ArrayGetItem(States.StringSplit($$.Map.Item.Value.Key, '/'), " +
	"States.MathAdd(States.ArrayLength(States.StringSplit($$.Map.Item.Value.Key, '/')), -1))"

// ForEachObject runs processor once per object under the prefix at
// prefixPath. The Distributed Map pages through the listing itself, so no
// list of keys ever has to fit in the 256 KB state payload.
//
// Each item must end in a state whose output is the number 1 (see Done): the
// results stay a few bytes per object, and their length is the object count,
// at resultPath + ".objectCount".
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
		ResultSelector:   &map[string]interface{}{"objectCount.$": "States.ArrayLength($)"},
		ResultPath:       jsii.String(resultPath),
	})
	m.ItemProcessor(processor, nil)
	return m
}

// Done ends an item with the output 1, which ForEachObject counts.
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
	// KeyExpression is an intrinsic function giving the target key.
	KeyExpression string
}

// Copy copies the item's object. S3 has no IAM action named CopyObject: it
// takes s3:GetObject on the source and s3:PutObject on the target
// (aws/aws-cdk#27573), so both are set here instead of the derived one.
// NoSuchKey is not retried, so that the caller can catch it.
func Copy(scope constructs.Construct, id string, props *CopyProps) tasks.CallAwsService {
	task := tasks.NewCallAwsService(scope, jsii.String(id), &tasks.CallAwsServiceProps{
		Service: jsii.String("s3"),
		Action:  jsii.String("copyObject"),
		Parameters: &map[string]interface{}{
			"Bucket":     props.TargetBucketName,
			"Key.$":      props.KeyExpression,
			"CopySource": sfn.JsonPath_Format(jsii.String("{}/{}"), props.Source.BucketName(), sfn.JsonPath_StringAt(jsii.String("$.key"))),
			// Replace, not copy, tags: no s3:GetObjectTagging needed on the source.
			"TaggingDirective": "REPLACE",
		},
		IamAction:    jsii.String("s3:PutObject"),
		IamResources: jsii.Strings(props.TargetBucketArn + "/" + props.TargetPrefix + "*"),
		AdditionalIamStatements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:GetObject"),
			Resources: jsii.Strings(*props.Source.ArnForObjects(jsii.String(props.SourcePrefix + "*"))),
		})},
		ResultPath: sfn.JsonPath_DISCARD(),
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

// Move moves the item's object within bucket, from sourcePrefix to the key
// keyExpression gives under targetPrefix: copy, then delete only once the
// copy is confirmed. A source already gone was moved by an earlier execution.
func Move(scope constructs.Construct, ids MoveIDs, bucket awss3.IBucket, sourcePrefix, targetPrefix, keyExpression string) sfn.IChainable {
	done := Done(scope, ids.Done)
	cp := Copy(scope, ids.Copy, &CopyProps{
		Source: bucket, SourcePrefix: sourcePrefix,
		TargetBucketName: bucket.BucketName(), TargetBucketArn: *bucket.BucketArn(), TargetPrefix: targetPrefix,
		KeyExpression: keyExpression,
	})
	cp.AddCatch(done, &sfn.CatchProps{Errors: jsii.Strings(NoSuchKey), ResultPath: sfn.JsonPath_DISCARD()})
	return sfn.Chain_Start(cp).Next(Delete(scope, ids.Delete, bucket, sourcePrefix)).Next(done)
}
