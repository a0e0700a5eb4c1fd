package consumer

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/naming"
)

// Prefixes of the inbox bucket. Each run has its own folder in all of them
// but CuratedPrefix, which is the Salesforce flow's fixed source. The flow
// reads it as BucketPrefix "curated": should AppFlow match that as a plain
// string prefix, no other folder may start with "curated" (a test checks).
const (
	SourcePrefix         = naming.InboxSourcePrefix // inbox/<run>/: written by the producer
	CuratedPrefix        = "curated/"               // CSV for AppFlow, one run at a time
	CuratedParquetPrefix = "parquet/"               // parquet/run_id=<run>/: the curated leads for analytics (no prefix starts like curated/)
	RejectedPrefix       = "rejected/"              // rejected/run_id=<run>/: leads dropped, with the reason
	ReportsPrefix        = "reports/"               // reports/<run>.json: the job's counts
	ProcessedPrefix      = "processed/"             // processed/<run>/: curated CSV once loaded
	ArchivePrefix        = "archive/"               // archive/<run>/: source files once loaded
	ErrorsPrefix         = "errors/"                // AppFlow's records Salesforce rejected
	RetryPrefix          = "retry/"                 // retry/run_id=<run>/: rows a run sent again, with their attempts
	QuarantinePrefix     = "quarantine/"            // quarantine/run_id=<run>/: rows refused too often, with the last error
	// RetryMarkerKey names the last load's refused records while the next run has to retry them.
	RetryMarkerKey = RetryPrefix + "pending.json"
)

// InboxBucketProps configures an InboxBucket.
type InboxBucketProps struct {
	// BucketName is fixed: the producer writes to it from another account.
	BucketName *string
	// ProducerAccount is the account whose hand-off role may write to inbox/.
	ProducerAccount *string
	// HandoffRoleArn is that role; trusted by name so that it need not exist yet.
	HandoffRoleArn *string
	// RawRunsRetentionDays is how long an object of a run stays under inbox/
	// or archive/ (a run never processed expires too).
	// Default: - databucket.DefaultRawRunsDays (365).
	RawRunsRetentionDays *float64
	// SentRetentionDays is how long what was sent to Salesforce stays under
	// curated/, parquet/ and processed/. The next run's retry reads
	// the rows Salesforce refused from parquet/ of the run that sent them.
	// Default: - databucket.DefaultSentDays (90).
	SentRetentionDays *float64
	// RefusedRetentionDays is how long rows the filter job dropped or
	// Salesforce refused stay under rejected/, retry/, quarantine/ and errors/
	// (AppFlow's error records). A retry marker older than that expires with
	// the rows it names.
	// Default: - databucket.DefaultRefusedDays (90).
	RefusedRetentionDays *float64
	// ReportsRetentionDays is how long run reports and Distributed Map
	// results stay under reports/ and map-results/.
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

// InboxBucket receives the producer's files and holds every later stage.
type InboxBucket struct {
	constructs.Construct
	Bucket           awss3.Bucket
	AccessLogsBucket awss3.Bucket
	// Key encrypts Bucket; nil with S3ManagedEncryption.
	Key awskms.Key
}

func (p *InboxBucketProps) validate() error {
	errs := []error{
		validate.RequiredStrings(map[string]*string{"BucketName": p.BucketName, "ProducerAccount": p.ProducerAccount, "HandoffRoleArn": p.HandoffRoleArn}),
		ValidateProducerTrust(p.ProducerAccount, p.HandoffRoleArn),
	}
	errs = append(errs, databucket.ValidateRetention(map[string]*float64{
		"RawRunsRetentionDays": p.RawRunsRetentionDays, "SentRetentionDays": p.SentRetentionDays,
		"RefusedRetentionDays": p.RefusedRetentionDays, "ReportsRetentionDays": p.ReportsRetentionDays,
	}))
	return errors.Join(errs...)
}

// retention is what the inbox bucket holds, class by class: every prefix
// the producer, the filter job, AppFlow and the orchestration write.
func (p *InboxBucketProps) retention() []databucket.Retention {
	return []databucket.Retention{
		{Class: databucket.RawRuns, Prefixes: []string{SourcePrefix, ArchivePrefix}, Days: databucket.DaysOr(p.RawRunsRetentionDays, databucket.DefaultRawRunsDays)},
		{Class: databucket.Sent, Prefixes: []string{CuratedPrefix, CuratedParquetPrefix, ProcessedPrefix}, Days: databucket.DaysOr(p.SentRetentionDays, databucket.DefaultSentDays)},
		{Class: databucket.Refused, Prefixes: []string{RejectedPrefix, RetryPrefix, QuarantinePrefix, ErrorsPrefix}, Days: databucket.DaysOr(p.RefusedRetentionDays, databucket.DefaultRefusedDays)},
		{Class: databucket.Reports, Prefixes: []string{ReportsPrefix, databucket.MapResultsPrefix}, Days: databucket.DaysOr(p.ReportsRetentionDays, databucket.DefaultReportsDays)},
	}
}

var roleArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)

// ValidateProducerTrust checks the producer account and, when set, the
// hand-off role, which must be a role of that account. It does not require
// either: the constructs that need them do.
func ValidateProducerTrust(account, roleArn *string) error {
	var errs []error
	if account != nil && *account != "" {
		errs = append(errs, validate.Account("ProducerAccount", *account))
	}
	if roleArn != nil && *roleArn != "" && !validate.Unresolved(*roleArn) {
		m := roleArnPattern.FindStringSubmatch(*roleArn)
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf("HandoffRoleArn must be an IAM role ARN, got %q", *roleArn))
		case account != nil && m[1] != *account:
			errs = append(errs, fmt.Errorf("HandoffRoleArn %q must be a role of ProducerAccount %q", *roleArn, *account))
		}
	}
	return errors.Join(errs...)
}

// NewInboxBucket creates the bucket with its policy for the producer and AppFlow.
func NewInboxBucket(scope constructs.Construct, id *string, props *InboxBucketProps) *InboxBucket {
	if props == nil {
		props = &InboxBucketProps{}
	}
	validate.Must("InboxBucket", props.validate())
	this := constructs.NewConstruct(scope, id)
	b := databucket.NewBuckets(this, &databucket.Props{
		BucketName:          props.BucketName,
		Retention:           props.retention(),
		RemovalPolicy:       props.RemovalPolicy,
		S3ManagedEncryption: props.S3ManagedEncryption != nil && *props.S3ManagedEncryption,
	})
	GrantInboxAccess(b.Data, props.ProducerAccount, props.HandoffRoleArn)
	return &InboxBucket{Construct: this, Bucket: b.Data, AccessLogsBucket: b.AccessLogs, Key: b.Key}
}

// GrantInboxAccess adds the inbox bucket's policy statements: the producer's
// hand-off role may write under SourcePrefix, and this account's AppFlow may
// read CuratedPrefix and write rejected records under ErrorsPrefix; and the
// key policy's, so that both may use the bucket's key for that through S3.
// NewInboxBucket calls it; a Pipeline given an existing bucket calls it on that one.
func GrantInboxAccess(bucket awss3.IBucket, producerAccount, handoffRoleArn *string) {
	// S3 rejects a policy naming a role that does not exist yet ("Invalid
	// principal"): trust the producer account, narrowed to the role by ARN.
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ProducerHandoffWritesInbox"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAccountPrincipal(producerAccount)},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  jsii.Strings(*bucket.ArnForObjects(jsii.String(SourcePrefix + "*"))),
		Conditions: &map[string]interface{}{
			"ArnEquals": map[string]interface{}{"aws:PrincipalArn": *handoffRoleArn},
		},
	}))
	databucket.GrantAppFlow(bucket, "AppFlowReadsCurated", []string{"s3:GetObject", "s3:ListBucket"},
		[]string{*bucket.BucketArn(), *bucket.ArnForObjects(jsii.String(CuratedPrefix + "*"))})
	databucket.GrantAppFlow(bucket, "AppFlowWritesErrors",
		[]string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads", "s3:GetBucketAcl", "s3:PutObjectAcl"},
		[]string{*bucket.BucketArn(), *bucket.ArnForObjects(jsii.String(ErrorsPrefix + "*"))})
	// The copy is one CopyObject of at most 5 GB: the new object's data key only.
	databucket.GrantKeyUse(bucket, "ProducerHandoffWritesInbox", databucket.RoleOfAccount(*producerAccount, *handoffRoleArn), databucket.WriteObjects)
	databucket.GrantKeyUse(bucket, "AppFlowReadsCuratedWritesErrors", databucket.ServiceFor(databucket.AppFlowService, bucket), databucket.ReadWrite)
}
