package producer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// Prefixes of the landing bucket. AppFlow writes each run under
// LandingPrefix/<flow name>/<execution id>/ (see RunFolder); the hand-off
// moves it to the same folder under ArchivePrefix.
const (
	LandingPrefix = "landing/"
	ArchivePrefix = "archive/"
)

// RunFolder is where one run of flowName sits under prefix (LandingPrefix or
// ArchivePrefix), as a States.Format template of the run's execution id:
// <prefix><flow name>/{}/. This is the one assumption about AppFlow's key
// layout: the execution id level is the flow's PrefixConfig
// PathPrefixHierarchy EXECUTION_ID ("The ID that Amazon AppFlow assigns to
// the flow run", CloudFormation AWS::AppFlow::Flow PrefixConfig); the flow
// name level below the bucket prefix is what AppFlow is reported to write
// and is on the first-run checklist (docs/first-run.md) to confirm. The
// moto tests share it (test/statemachines/fakes.py marketo_run_prefix).
func RunFolder(prefix, flowName string) string {
	return prefix + flowName + "/{}/"
}

// LandingBucketProps configures a LandingBucket.
type LandingBucketProps struct {
	// RawRunsRetentionDays is how long an object of a run stays under
	// landing/ or archive/ (a run never handed off expires too).
	// Default: - databucket.DefaultRawRunsDays (365).
	RawRunsRetentionDays *float64
	// ReportsRetentionDays is how long the hand-off's Distributed Map
	// results stay under map-results/.
	// Default: - databucket.DefaultReportsDays (90).
	ReportsRetentionDays *float64
	// S3ManagedEncryption encrypts the bucket with SSE-S3 instead of a
	// customer-managed KMS key of its own.
	// Default: - false: a rotated, retained key whose policy admits each user by name.
	S3ManagedEncryption *bool
	// RemovalPolicy of the bucket, its key and its access log bucket.
	// Default: - RETAIN: leads are business data.
	RemovalPolicy awscdk.RemovalPolicy
}

// LandingBucket is where the Marketo flow writes Parquet files, and where the
// hand-off archives them once every consumer has its copy.
type LandingBucket struct {
	constructs.Construct
	// Bucket receives AppFlow's output.
	Bucket awss3.Bucket
	// AccessLogsBucket holds the server access logs of Bucket.
	AccessLogsBucket awss3.Bucket
	// Key encrypts Bucket; nil with S3ManagedEncryption.
	Key awskms.Key
}

func (p *LandingBucketProps) validate() error {
	return databucket.ValidateRetention(map[string]*float64{
		"RawRunsRetentionDays": p.RawRunsRetentionDays, "ReportsRetentionDays": p.ReportsRetentionDays,
	})
}

// retention is what the landing bucket holds, class by class.
func (p *LandingBucketProps) retention() []databucket.Retention {
	return []databucket.Retention{
		{Class: databucket.RawRuns, Prefixes: []string{LandingPrefix, ArchivePrefix}, Days: databucket.DaysOr(p.RawRunsRetentionDays, databucket.DefaultRawRunsDays)},
		{Class: databucket.Reports, Prefixes: []string{databucket.MapResultsPrefix}, Days: databucket.DaysOr(p.ReportsRetentionDays, databucket.DefaultReportsDays)},
	}
}

// NewLandingBucket creates the landing bucket and lets AppFlow write to it.
func NewLandingBucket(scope constructs.Construct, id *string, props *LandingBucketProps) *LandingBucket {
	if props == nil {
		props = &LandingBucketProps{}
	}
	validate.Must("LandingBucket", props.validate())
	this := constructs.NewConstruct(scope, id)
	b := databucket.NewBuckets(this, &databucket.Props{
		Retention:           props.retention(),
		RemovalPolicy:       props.RemovalPolicy,
		S3ManagedEncryption: props.S3ManagedEncryption != nil && *props.S3ManagedEncryption,
	})
	GrantAppFlowWritesLanding(b.Data)
	return &LandingBucket{Construct: this, Bucket: b.Data, AccessLogsBucket: b.AccessLogs, Key: b.Key}
}

// GrantAppFlowWritesLanding lets this account's AppFlow write runs under
// LandingPrefix: what AppFlow needs on an S3 destination (AppFlow user
// guide, "Amazon S3"), and the bucket's key for its uploads (multipart:
// GenerateDataKey and Decrypt). NewLandingBucket calls it; a Pipeline given an
// existing bucket calls it on that one.
func GrantAppFlowWritesLanding(bucket awss3.IBucket) {
	databucket.GrantAppFlow(bucket, "AppFlowWritesLanding",
		[]string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads", "s3:GetBucketAcl", "s3:PutObjectAcl"},
		[]string{*bucket.BucketArn(), *bucket.ArnForObjects(jsii.String(LandingPrefix + "*"))})
	databucket.GrantKeyUse(bucket, "AppFlowWritesLanding", databucket.ServiceFor(databucket.AppFlowService, bucket), databucket.ReadWrite)
}
