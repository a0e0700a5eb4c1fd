package databucket

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// KeyID is the construct ID of the data key: changing it replaces the key,
// and objects written under the old one stay readable only while it exists.
const KeyID = "Key"

// keyAdminActions are what the KMS console's key policy gives key
// administrators (KMS guide, key-policy-default, "Allows key administrators
// to administer the KMS key"): manage, tag, rotate, schedule deletion, edit
// the policy. No cryptographic operation: nobody decrypts a lead because
// an IAM policy of the account says kms:*.
var keyAdminActions = []string{
	"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
	"kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
}

// NewDataKey creates the customer-managed key of a data bucket: rotated
// yearly, retained like the bucket, and with a key policy that gives the
// account administration only. Every use is a statement of its own
// (GrantKeyUse): "Unless the key policy explicitly allows it, you cannot use
// IAM policies to allow access to a KMS key" (KMS guide, key-policies), so an
// IAM grant alone (CDK's key.grant*, an administrator's kms:*) decrypts nothing.
// Given a Policy, CDK adds no statement of its own (aws-kms key.js: the
// default admin statement is added only without props.policy).
func NewDataKey(scope constructs.Construct, removal awscdk.RemovalPolicy) awskms.Key {
	admin := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountAdministersKey"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
			Actions:    jsii.Strings(keyAdminActions...),
			Resources:  jsii.Strings("*"),
		}),
	}})
	return awskms.NewKey(scope, jsii.String(KeyID), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the leads of " + *scope.Node().Path()),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
		Policy:            admin,
	})
}

// KeyUser is a principal the key policy admits, with the conditions that
// narrow it to what it is. No statement carries kms:CallerAccount: AWS uses
// it to narrow a Principal "*" to one account (the key policies of AWS
// managed keys), and every statement here names its principal, a role or a
// service, whose account is already fixed by that name.
type KeyUser struct {
	principal  awsiam.IPrincipal
	conditions map[string]map[string]any
}

// RoleOfThisAccount admits a role of the key's own account.
func RoleOfThisAccount(role awsiam.IRole) KeyUser {
	return KeyUser{principal: awsiam.NewArnPrincipal(role.RoleArn()), conditions: map[string]map[string]any{}}
}

// RoleOfAccount admits a role of another account by name, through that
// account's root and aws:PrincipalArn: a key policy naming a role that does
// not exist yet is refused ("Invalid principal", DESIGN), and the producer's
// and a consumer's stacks deploy in any order. The role's own account must
// allow it too (KMS guide, key-policy-modifying-external-accounts).
func RoleOfAccount(account, roleArn string) KeyUser {
	return KeyUser{principal: awsiam.NewAccountPrincipal(jsii.String(account)), conditions: map[string]map[string]any{
		"ArnEquals": {"aws:PrincipalArn": roleArn},
	}}
}

// ServiceFor admits an AWS service acting for this account only
// (aws:SourceAccount guards the confused deputy), e.g. AppFlow.
func ServiceFor(service string, scope constructs.IConstruct) KeyUser {
	return KeyUser{principal: awsiam.NewServicePrincipal(jsii.String(service), nil), conditions: map[string]map[string]any{
		"StringEquals": {"aws:SourceAccount": *awscdk.Stack_Of(scope).Account()},
	}}
}

// Actions of the key that S3 calls for a principal, on SSE-KMS objects:
// writing one needs kms:GenerateDataKey, reading one kms:Decrypt, and a
// multipart upload both ("you must have kms:GenerateDataKey and kms:Decrypt",
// AWS Knowledge Center, s3-large-file-encryption-kms-key). CopyObject reads
// the source with its key and writes the copy with the destination bucket's
// default key (S3 API reference, CopyObject ServerSideEncryption).
var (
	ReadObjects  = []string{"kms:Decrypt"}
	WriteObjects = []string{"kms:GenerateDataKey"}
	ReadWrite    = []string{"kms:Decrypt", "kms:GenerateDataKey"}
)

// GrantKeyUse lets user call actions with the bucket's key, only through S3
// (kms:ViaService) and, where the bucket's name is known at synthesis, only
// for that bucket: with an S3 Bucket Key, "the encryption context will be the
// bucket Amazon Resource Name (ARN) and not the object ARN" (S3 guide,
// configuring-bucket-key), so the context is the bucket's ARN exactly. This
// is the pattern AWS documents for a service principal using a key through S3
// (Bedrock API reference, DataRetentionStorageConfiguration). A bucket whose
// name CloudFormation generates (the landing bucket) cannot be named in its
// key's policy: the bucket names the key, and a reference back is a circular
// dependency. Its key encrypts that bucket only, so the principal, its
// account and kms:ViaService narrow the statement. A bucket without a key of
// this app (SSE-S3) needs nothing: GrantKeyUse does nothing then.
func GrantKeyUse(bucket awss3.IBucket, sid string, user KeyUser, actions []string) {
	key, ok := bucket.EncryptionKey().(awskms.Key)
	if !ok || key == nil {
		return
	}
	conditions := map[string]any{}
	for op, kv := range user.conditions {
		conditions[op] = copyMap(kv)
	}
	equals, _ := conditions["StringEquals"].(map[string]any)
	if equals == nil {
		equals = map[string]any{}
		conditions["StringEquals"] = equals
	}
	stack := awscdk.Stack_Of(bucket)
	equals["kms:ViaService"] = fmt.Sprintf("s3.%s.amazonaws.com", *stack.Region())
	if name := fixedName(bucket); name != "" {
		equals["kms:EncryptionContext:aws:s3:arn"] = fmt.Sprintf("arn:%s:s3:::%s", *stack.Partition(), name)
	}
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{user.principal},
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings("*"),
		Conditions: &conditions,
	}), jsii.Bool(false))
}

// fixedName is the name a bucket of this app was given at synthesis, or ""
// when CloudFormation names it (BucketName() is a reference to the bucket then).
func fixedName(bucket awss3.IBucket) string {
	cfn, ok := bucket.Node().DefaultChild().(awss3.CfnBucket)
	if !ok || cfn.BucketName() == nil || validate.Unresolved(*cfn.BucketName()) {
		return ""
	}
	return *cfn.BucketName()
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// GrantRead lets a role of this account read the objects under prefix (e.g.
// "parquet/*"): s3:GetObject and s3:ListBucket by the role's own
// policy, and kms:Decrypt by the key policy, the only place that can grant it
// (sid names that statement).
func GrantRead(bucket awss3.IBucket, role awsiam.IRole, prefix, sid string) {
	bucket.GrantRead(role, jsii.String(prefix))
	GrantKeyUse(bucket, sid, RoleOfThisAccount(role), ReadObjects)
}
