package consumer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/nag"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// GlueVersion is pinned: Glue 5.0 runs Spark 3.5.4 on Python 3.11, the engine
// the script's tests run on.
const GlueVersion = "5.0"

// JobMetricsNamespace is the CloudWatch namespace Glue job metrics are published in.
const JobMetricsNamespace = "Glue"

// FilterJobStartErrors are the errors of a glue:startJobRun.sync task that
// mean the run did not start (or could not be followed) and may succeed if
// tried again. Step Functions names a Glue error "Glue.<error code>"; each
// code is an error shape of the Glue API model (botocore glue 2017-03-31):
// StartJobRun's and GetJobRun's transient ones, and ThrottlingException. A
// run that starts and then fails, times out or is stopped raises
// States.TaskFailed, which is not among them.
var FilterJobStartErrors = []string{
	"Glue.ThrottlingException",
	"Glue.InternalServiceException",
	"Glue.ConcurrentRunsExceededException",
	"Glue.OperationTimeoutException",
}

// FilterJobProps configures a FilterJob.
type FilterJobProps struct {
	// JobName names the Glue job.
	JobName *string
	// ScriptPath is a local PySpark script to run instead of the one shipped
	// in this module; CDK uploads it as an asset. It must read and write what
	// filter_leads.py does (see the README's filter job section).
	// Default: - filter_leads.py, embedded in the module and written into the cloud assembly at synth.
	ScriptPath *string
	// Bucket is read under inbox/ and written under the curated, rejected and reports prefixes.
	Bucket awss3.IBucket
	// SecurityConfiguration encrypts the job's logs and bookmarks with Key,
	// and its S3 writes with the bucket's own key (SSE-S3 when it has none).
	// Default: - one named <JobName>-glue-kms (<JobName>-glue for an SSE-S3
	// bucket), with Key.
	SecurityConfiguration awsglue.CfnSecurityConfiguration
	// Key is the KMS key of SecurityConfiguration; required when it is given.
	// Default: - the bucket's own key; for an SSE-S3 bucket a new key with
	// rotation, retained on stack deletion.
	Key awskms.IKey
	// WorkerType is the Glue worker type.
	// Default: - G.1X.
	WorkerType *string
	// NumberOfWorkers is how many workers run the job.
	// Default: - 2.
	NumberOfWorkers *float64
	// TimeoutMinutes bounds one run.
	// Default: - 60.
	TimeoutMinutes *float64
	// Rules are the Salesforce field rules the job checks every row against
	// (upsert key column, field lengths, drop or repair per rule), passed as
	// its --lead_rules argument. Build them with NewLeadRules from the same
	// mapping and upsert field as the SalesforceFlow.
	// Default: - DefaultLeadRules(), for DefaultLeadFieldMapping and DefaultUpsertField.
	Rules *LeadRules
	// UpsertField is the Salesforce field the flow upserts on, by which the job
	// finds the rows of AppFlow's error files among the rows it sent.
	// Default: - DefaultUpsertField.
	UpsertField *string
	// MaxLoadAttempts is how many loads may refuse a row before the job moves
	// it to quarantine/ instead of sending it again.
	// Default: - 3.
	MaxLoadAttempts *float64
}

// FilterJob is the PySpark job that drops Do-Not-Call leads and rows Salesforce
// would refuse (or repairs them, as its Rules say) and writes the curated CSV
// the Salesforce flow loads.
type FilterJob struct {
	constructs.Construct
	Job    awsglue.CfnJob
	Role   awsiam.Role
	Script awss3assets.Asset
	// SecurityConfiguration and Key are the props' or the ones the job created.
	SecurityConfiguration awsglue.CfnSecurityConfiguration
	Key                   awskms.IKey
	// JobName is what the orchestration starts.
	JobName *string
}

// SparkOutputPrefixes are the prefixes the job writes with Spark (overwrite).
var SparkOutputPrefixes = []string{CuratedPrefix, CuratedParquetPrefix, RejectedPrefix, RetryPrefix, QuarantinePrefix}

// grantSparkOutput lets the role overwrite a Spark output folder: read,
// write and delete everything under it (and abort its multipart uploads),
// and the keys Spark touches beside it. Hadoop's S3A client stats the
// folder's own key ("curated", a HEAD that is a 403 without s3:GetObject on
// it, apache/hadoop#6507), and EMRFS, which Glue 5.0 writes through, keeps
// "curated_$folder$" markers (EMR guide). Nothing writes or deletes the
// folder's own key. Explicit actions, not GrantReadWrite: its wildcards
// (s3:GetBucket*, s3:PutObjectRetention, ...) name calls the job never
// makes, which the IAM check of the emulated runs reports as unused.
func grantSparkOutput(role awsiam.IRole, bucket awss3.IBucket, prefix string) {
	folder := strings.TrimSuffix(prefix, "/")
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
		Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String(prefix + "*"))),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String(folder))),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
		Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String(folder + "_$folder$"))),
	}))
}

// DefaultMaxLoadAttempts is how many loads may refuse a row before it is quarantined.
const DefaultMaxLoadAttempts = 3

// ValidateMaxLoadAttempts checks a bound of load attempts (1-10) under key.
func ValidateMaxLoadAttempts(key string, attempts float64) error {
	if attempts < 1 || attempts > 10 || attempts != float64(int(attempts)) {
		return fmt.Errorf("%s must be a whole number from 1 to 10, got %g", key, attempts)
	}
	return nil
}

func (p *FilterJobProps) withDefaults() FilterJobProps {
	out := *p
	if out.WorkerType == nil {
		out.WorkerType = jsii.String("G.1X")
	}
	if out.NumberOfWorkers == nil {
		out.NumberOfWorkers = jsii.Number(2)
	}
	if out.TimeoutMinutes == nil {
		out.TimeoutMinutes = jsii.Number(60)
	}
	if out.UpsertField == nil {
		out.UpsertField = jsii.String(DefaultUpsertField)
	}
	if out.MaxLoadAttempts == nil {
		out.MaxLoadAttempts = jsii.Number(DefaultMaxLoadAttempts)
	}
	if out.Rules == nil {
		rules := DefaultLeadRules()
		out.Rules = &rules
	}
	return out
}

func (p *FilterJobProps) validate() error {
	return errors.Join(
		validate.RequiredStrings(map[string]*string{"JobName": p.JobName}),
		validate.NotNil(map[string]any{"Bucket": p.Bucket}),
		p.validateScriptAndKey(),
		ValidateJobSizing("FilterJob", *p.WorkerType, *p.NumberOfWorkers, *p.TimeoutMinutes),
		ValidateMaxLoadAttempts("FilterJob.MaxLoadAttempts", *p.MaxLoadAttempts),
		p.Rules.validate("FilterJob.Rules"))
}

// ValidateSizing checks WorkerType, NumberOfWorkers and TimeoutMinutes as
// NewFilterJob does, with its defaults, so that a pattern can check them
// before it creates anything; key prefixes the messages.
func (p *FilterJobProps) ValidateSizing(key string) error {
	d := p.withDefaults()
	return ValidateJobSizing(key, *d.WorkerType, *d.NumberOfWorkers, *d.TimeoutMinutes)
}

// validateScriptAndKey checks what the optional script and encryption props
// need: a script file that exists, and the key of a given security configuration.
func (p *FilterJobProps) validateScriptAndKey() error {
	var errs []error
	if p.ScriptPath != nil {
		if info, err := os.Stat(*p.ScriptPath); err != nil || info.IsDir() {
			errs = append(errs, fmt.Errorf("ScriptPath must be an existing file, got %q", *p.ScriptPath))
		}
	}
	if p.SecurityConfiguration != nil && p.Key == nil {
		errs = append(errs, errors.New("Key is required with SecurityConfiguration: the job's role must use the key it encrypts with"))
	}
	return errors.Join(errs...)
}

// NewFilterJob uploads the script (by default the one embedded in this
// module) and creates the job, its role and, unless given, its security
// configuration and key.
func NewFilterJob(scope constructs.Construct, id *string, props *FilterJobProps) *FilterJob {
	if props == nil {
		props = &FilterJobProps{}
	}
	p := props.withDefaults()
	validate.Must("FilterJob", p.validate())
	this := constructs.NewConstruct(scope, id)

	scriptPath := p.ScriptPath
	if scriptPath == nil {
		path, err := writeEmbeddedScript(this)
		validate.Must("FilterJob", err)
		scriptPath = &path
	}
	if p.Key == nil {
		p.Key = glueKey(this, p.Bucket, *p.JobName)
	}
	if p.SecurityConfiguration == nil {
		p.SecurityConfiguration = newSecurityConfiguration(this, securityConfigurationName(*p.JobName, p.Bucket), p.Key, p.Bucket)
	}
	script := awss3assets.NewAsset(this, jsii.String("Script"), &awss3assets.AssetProps{Path: scriptPath})
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("glue.amazonaws.com"), nil),
	})
	script.GrantRead(role)
	// Spark lists the input and every output folder (ListObjectsV2 needs s3:ListBucket).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(*p.Bucket.BucketArn()),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:GetObject"), Resources: jsii.Strings(*p.Bucket.ArnForObjects(jsii.String(SourcePrefix + "*"))),
	}))
	for _, prefix := range SparkOutputPrefixes {
		grantSparkOutput(role, p.Bucket, prefix)
	}
	// Rows Salesforce refused: AppFlow's error files, read by the next run.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:GetObject"), Resources: jsii.Strings(*p.Bucket.ArnForObjects(jsii.String(ErrorsPrefix + "*"))),
	}))
	// The report is one boto3 PutObject.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("s3:PutObject"), Resources: jsii.Strings(*p.Bucket.ArnForObjects(jsii.String(ReportsPrefix + "*"))),
	}))
	GrantGlueLogging(role, "jobs")
	// S3 makes the key's calls for the job: reads of the run and of earlier
	// outputs, and every write, with the bucket's key (the Glue guide's
	// set-up-encryption also lists kms:Encrypt, which SSE-KMS does not call).
	databucket.GrantKeyUse(p.Bucket, "FilterJobReadsAndWrites", databucket.RoleOfThisAccount(role), databucket.ReadWrite)
	// --enable-metrics publishes the job's metrics with PutMetricData, which
	// has no resource-level permission: limit it to Glue's namespace (Glue
	// guide, monitoring-awsglue-with-cloudwatch-metrics: namespace "Glue").
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("cloudwatch:PutMetricData"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"cloudwatch:namespace": JobMetricsNamespace}},
	}))

	job := awsglue.NewCfnJob(this, jsii.String("Job"), &awsglue.CfnJobProps{
		Name:        p.JobName,
		Description: jsii.String("Drops Do-Not-Call leads and writes curated CSV for Salesforce"),
		Role:        role.RoleArn(),
		GlueVersion: jsii.String(GlueVersion),
		Command: &awsglue.CfnJob_JobCommandProperty{
			Name:           jsii.String("glueetl"),
			PythonVersion:  jsii.String("3"),
			ScriptLocation: script.S3ObjectUrl(),
		},
		WorkerType:      p.WorkerType,
		NumberOfWorkers: p.NumberOfWorkers,
		Timeout:         p.TimeoutMinutes,
		// The orchestration owns retries; one run at a time matches its lock.
		MaxRetries:            jsii.Number(0),
		ExecutionProperty:     &awsglue.CfnJob_ExecutionPropertyProperty{MaxConcurrentRuns: jsii.Number(1)},
		SecurityConfiguration: p.SecurityConfiguration.Name(),
		DefaultArguments: &map[string]*string{
			// No --enable-continuous-cloudwatch-log: Glue 5.0 logs in real time
			// for every job; that flag only acts on Glue 4.0 and earlier.
			"--job-language":        jsii.String("python"),
			"--enable-metrics":      jsii.String("true"),
			"--job-bookmark-option": jsii.String("job-bookmark-disable"),
			// The orchestration passes the per-run paths; run arguments override
			// only the keys they name (Glue API, StartJobRun "Arguments").
			"--lead_rules":        jsii.String(p.Rules.argument()),
			"--upsert_field":      p.UpsertField,
			"--max_load_attempts": jsii.String(fmt.Sprintf("%g", *p.MaxLoadAttempts)),
		},
	})
	job.Node().AddDependency(p.SecurityConfiguration)

	nag.Suppress(role, true, nag.Suppression{
		ID:     "AwsSolutions-IAM5",
		Reason: "The job reads its script asset, inbox/* and errors/* (rows Salesforce refused), rewrites whole output folders (curated/*, parquet/*, rejected/*, retry/*, quarantine/*), writes reports/*, writes its own /aws-glue log groups, and publishes metrics (PutMetricData has no resource-level permission; the statement is limited to the Glue namespace).",
		AppliesTo: []string{
			"Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", // the script asset (Asset.GrantRead)
			"Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*", "Resource::*",
		},
		AppliesToRegex: []string{`/^Resource::.*\/(inbox|errors|curated|parquet|rejected|retry|quarantine|reports)\/\*$/g`, `/^Resource::arn:.*:(s3:::cdk-.*\/\*|log-group:\/aws-glue\/.*)$/g`},
	})
	return &FilterJob{Construct: this, Job: job, Role: role, Script: script, JobName: p.JobName,
		SecurityConfiguration: p.SecurityConfiguration, Key: p.Key}
}
