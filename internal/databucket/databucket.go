// Package databucket builds the bucket both sides keep their leads in, with
// the settings a data bucket needs (encryption, TLS only, no public access,
// versioning, access logs, a retention per class of data, retained on stack
// deletion), so the producer's landing bucket and a consumer's inbox cannot
// differ by accident.
package databucket

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
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
// bucket's folders write their results (package s3steps): object keys and
// counts of a run, kept as the run's reports are.
const MapResultsPrefix = "map-results/"

// Default retention of each class of data, in days (the README's "Personal
// data" table states them). Raw runs keep the 365 days archive/ always had;
// what was sent to Salesforce, what it refused and the run reports are kept
// 90 days, long enough to debug and retry a load, short enough that copies of
// a person do not outlive their use.
const (
	DefaultRawRunsDays = 365
	DefaultSentDays    = 90
	DefaultRefusedDays = 90
	DefaultReportsDays = 90
	// MaxRetentionDays bounds every retention prop: a hundred years.
	MaxRetentionDays = 36500
	// RecoveryDays is how long a replaced or deleted version is kept at most,
	// to undo a mistake: a move leaves one behind in its source folder.
	RecoveryDays = 30
)

// Classes of data, each with its own retention prop: the runs as Marketo
// wrote them; what was sent to Salesforce (curated and processed); rows the
// filter job or Salesforce refused, with AppFlow's error records; and the
// records of a run (its reports and Distributed Map results).
const (
	RawRuns = "RawRuns"
	Sent    = "Sent"
	Refused = "Refused"
	Reports = "Reports"
)

// DaysOr is a retention prop's value, or def when it is not set.
func DaysOr(days *float64, def float64) float64 {
	if days == nil {
		return def
	}
	return *days
}

// ValidateRetention checks every retention prop that is set (name -> value).
func ValidateRetention(props map[string]*float64) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if days := props[name]; days != nil {
			errs = append(errs, ValidateRetentionDays(name, *days))
		}
	}
	return errors.Join(errs...)
}

// Retention is how long one class of data is kept: an object under one of
// Prefixes expires Days after it was written, and the version it leaves
// behind (by a move, an overwrite or that expiry) NoncurrentDays(Days) later.
type Retention struct {
	// Class names the class in the lifecycle rules' IDs: RawRuns, Sent, Refused or Reports.
	Class    string
	Prefixes []string
	Days     float64
}

// NoncurrentDays is how long a version stays once replaced or deleted:
// RecoveryDays, or days when the class is kept for less.
func NoncurrentDays(days float64) float64 {
	return min(days, RecoveryDays)
}

// ValidateRetentionDays checks a retention prop or configuration key: whole
// days from 1 (S3 lifecycle Days "must be a non-zero positive integer", S3
// API reference, LifecycleExpiration) to MaxRetentionDays.
func ValidateRetentionDays(key string, days float64) error {
	if days < 1 || days > MaxRetentionDays || days != float64(int64(days)) {
		return fmt.Errorf("%s must be a whole number of days from 1 to %d, got %g", key, MaxRetentionDays, days)
	}
	return nil
}

// Props configures NewBuckets.
type Props struct {
	// BucketName fixes the name, for buckets another account must know.
	// Default: - CloudFormation generates a name.
	BucketName *string
	// Retention lists every class of data the bucket holds, each with its prefixes.
	Retention []Retention
	// RemovalPolicy applies to both buckets and the key.
	// Default: - RETAIN: leads are business data.
	RemovalPolicy awscdk.RemovalPolicy
	// S3ManagedEncryption encrypts the data bucket with SSE-S3 instead of a
	// customer-managed key (see NewDataKey).
	S3ManagedEncryption bool
}

// Buckets are what NewBuckets creates.
type Buckets struct {
	// Data holds the leads, encrypted with Key (or SSE-S3 without one).
	Data awss3.Bucket
	// AccessLogs holds Data's server access logs, SSE-S3: they name object
	// keys (run ids, file names) and requesters, never a lead's field.
	AccessLogs awss3.Bucket
	// Key encrypts Data; nil with S3ManagedEncryption.
	Key awskms.Key
}

// NewBuckets creates the data bucket, its key and its server access log bucket under scope.
func NewBuckets(scope constructs.Construct, props *Props) Buckets {
	removal := props.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
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

	encryption, key := awss3.BucketEncryption_S3_MANAGED, awskms.Key(nil)
	if !props.S3ManagedEncryption {
		encryption, key = awss3.BucketEncryption_KMS, NewDataKey(scope, removal)
	}
	data := awss3.NewBucket(scope, jsii.String(BucketID), &awss3.BucketProps{
		BucketName:             props.BucketName,
		Encryption:             encryption,
		EncryptionKey:          key,
		BucketKeyEnabled:       jsii.Bool(key != nil),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Versioned:              jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("access-logs/"),
		RemovalPolicy:          removal,
		LifecycleRules:         lifecycleRules(props.Retention),
	})
	return Buckets{Data: data, AccessLogs: logs, Key: key}
}

// lifecycleRules ends every copy of the data: one rule per prefix expires
// current versions after the class's days and noncurrent ones after
// NoncurrentDays; a rule for the whole bucket removes the delete markers
// expiry leaves once no version is left under them (ExpiredObjectDeleteMarker
// "cannot be specified with Days or Date", S3 API reference,
// LifecycleExpiration), bounds noncurrent versions of any other key, and
// aborts incomplete uploads. Where rules overlap, "the shorter expiration
// policy is honored" (S3 guide, lifecycle-conflicts).
func lifecycleRules(classes []Retention) *[]*awss3.LifecycleRule {
	rules := []*awss3.LifecycleRule{
		{
			Id:                                  jsii.String("AbortIncompleteUploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		},
		{
			Id:                          jsii.String("ExpireNoncurrentVersions"),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(RecoveryDays)),
			ExpiredObjectDeleteMarker:   jsii.Bool(true),
		},
	}
	for _, class := range classes {
		for _, prefix := range class.Prefixes {
			rules = append(rules, &awss3.LifecycleRule{
				Id:                          jsii.String(RuleID(class.Class, prefix)),
				Prefix:                      jsii.String(prefix),
				Expiration:                  awscdk.Duration_Days(jsii.Number(class.Days)),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(NoncurrentDays(class.Days))),
			})
		}
	}
	return &rules
}

// RuleID names the lifecycle rule of one prefix of a class: Expire<class>-<folder>.
func RuleID(class, prefix string) string {
	return "Expire" + class + "-" + strings.TrimSuffix(prefix, "/")
}

// AppFlowService is AppFlow's service principal.
const AppFlowService = "appflow.amazonaws.com"

// GrantAppFlow lets the AppFlow service of this account use the bucket, and
// only on behalf of this account (aws:SourceAccount guards the confused deputy).
func GrantAppFlow(bucket awss3.IBucket, sid string, actions []string, resources []string) {
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(AppFlowService), nil)},
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(resources...),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Stack_Of(bucket).Account()},
		},
	}))
}

// ValidateExisting checks a bucket a pattern is given instead of creating
// one: the pattern adds statements to its policy, which only a bucket
// defined in this app can take (an imported IBucket drops them silently),
// and the same holds for its key: GrantKeyUse adds each user to the policy
// of an awskms.Key of this app, and can add nothing to an imported key's.
func ValidateExisting(key string, bucket awss3.IBucket) error {
	if bucket == nil {
		return nil
	}
	if _, owned := bucket.(awss3.Bucket); !owned {
		return fmt.Errorf("%s must be an awss3.Bucket defined in this app, got an imported bucket: its policy cannot take the statements the pipeline needs", key)
	}
	if k := bucket.EncryptionKey(); k != nil {
		if _, owned := k.(awskms.Key); !owned {
			return fmt.Errorf("%s must be encrypted with SSE-S3 or an awskms.Key defined in this app, got the imported key %s: its key policy cannot take the statements the pipeline needs", key, *k.Node().Path())
		}
	}
	return nil
}
