// Package databucket builds the bucket both sides keep their leads in, with
// the settings a data bucket needs (encryption, TLS only, no public access,
// versioning, access logs, lifecycle, retained on stack deletion), so the
// producer's landing bucket and a consumer's inbox cannot differ by accident.
package databucket

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/nag"
)

// Construct IDs are a contract: changing one replaces the bucket.
const (
	BucketID     = "Bucket"
	AccessLogsID = "AccessLogs"
)

// MapResultsPrefix is where the Distributed Maps that work through the
// bucket's folders write their results (package s3steps); they are only
// needed to debug a run, so they expire after MapResultsRetentionDays.
const (
	MapResultsPrefix        = "map-results/"
	MapResultsRetentionDays = 30
)

// Props configures NewBuckets.
type Props struct {
	// BucketName fixes the name, for buckets another account must know.
	// Default: - CloudFormation generates a name.
	BucketName *string
	// ArchivePrefix is the prefix whose objects expire after ArchiveRetentionDays.
	ArchivePrefix *string
	// ArchiveRetentionDays is how long archived objects are kept.
	// Default: - 365 days.
	ArchiveRetentionDays *float64
	// RemovalPolicy applies to both buckets.
	// Default: - RETAIN: leads are business data.
	RemovalPolicy awscdk.RemovalPolicy
}

// NewBuckets creates the data bucket and its server access log bucket under scope.
func NewBuckets(scope constructs.Construct, props *Props) (awss3.Bucket, awss3.Bucket) {
	removal, retention := props.RemovalPolicy, props.ArchiveRetentionDays
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	if retention == nil {
		retention = jsii.Number(365)
	}
	logs := awss3.NewBucket(scope, jsii.String(AccessLogsID), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		RemovalPolicy:     removal,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("ExpireAccessLogs"),
			Expiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
	})
	nag.Suppress(logs, false, nag.Suppression{
		ID:     "AwsSolutions-S1",
		Reason: "This is the server access log bucket; logging it to itself would loop.",
	})

	data := awss3.NewBucket(scope, jsii.String(BucketID), &awss3.BucketProps{
		BucketName:             props.BucketName,
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Versioned:              jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("access-logs/"),
		RemovalPolicy:          removal,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("AbortIncompleteUploads"),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
			{
				// Moves leave noncurrent versions behind; keep them long enough to recover from a mistake.
				Id:                          jsii.String("ExpireNoncurrentVersions"),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
				ExpiredObjectDeleteMarker:   jsii.Bool(true),
			},
			{
				Id:         jsii.String("ExpireMapResults"),
				Prefix:     jsii.String(MapResultsPrefix),
				Expiration: awscdk.Duration_Days(jsii.Number(MapResultsRetentionDays)),
			},
			{
				Id:         jsii.String("ExpireArchive"),
				Prefix:     props.ArchivePrefix,
				Expiration: awscdk.Duration_Days(retention),
			},
		},
	})
	return data, logs
}

// GrantAppFlow lets the AppFlow service of this account use the bucket, and
// only on behalf of this account (aws:SourceAccount guards the confused deputy).
func GrantAppFlow(bucket awss3.IBucket, sid string, actions []string, resources []string) {
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("appflow.amazonaws.com"), nil)},
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(resources...),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Stack_Of(bucket).Account()},
		},
	}))
}

// ValidateExisting checks a bucket a pattern is given instead of creating
// one: the pattern adds statements to its policy, which only a bucket
// defined in this app can take (an imported IBucket drops them silently).
func ValidateExisting(key string, bucket awss3.IBucket) error {
	if bucket == nil {
		return nil
	}
	if _, owned := bucket.(awss3.Bucket); !owned {
		return fmt.Errorf("%s must be an awss3.Bucket defined in this app, got an imported bucket: its policy cannot take the statements the pipeline needs", key)
	}
	if kms := bucket.EncryptionKey(); kms != nil {
		return fmt.Errorf("%s is encrypted with the KMS key %s, which the pattern grants neither AppFlow nor its roles: use a bucket with BucketEncryption_S3_MANAGED", key, *kms.Node().Path())
	}
	return nil
}
