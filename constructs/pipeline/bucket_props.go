package pipeline

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"

	"github.com/leadbridge/leadbridge/internal/databucket"
)

// retentionOfNewBucket checks the retention props of a side's bucket: whole
// days in range, and none set with an existing bucket, whose lifecycle the
// pattern leaves to its owner.
func retentionOfNewBucket(bucket string, existing bool, props map[string]*float64) error {
	if !existing {
		return databucket.ValidateRetention(props)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if days := props[name]; days != nil {
			errs = append(errs, fmt.Errorf("%s applies to a new %s bucket only: set the existing bucket's lifecycle instead, got %g", name, bucket, *days))
		}
	}
	return errors.Join(errs...)
}

// encryptionOfNewBucket refuses S3ManagedEncryption with an existing bucket,
// whose encryption stays its owner's.
func encryptionOfNewBucket(bucket string, existing bool, s3Managed *bool) error {
	if existing && s3Managed != nil {
		return fmt.Errorf("S3ManagedEncryption applies to a new %s bucket only: an existing bucket keeps its own encryption, got %t", bucket, *s3Managed)
	}
	return nil
}

var notInSid = regexp.MustCompile(`[^A-Za-z0-9]`)

// readSid names the key policy statement that lets role read.
func readSid(role awsiam.IRole) string {
	return "Read" + notInSid.ReplaceAllString(*role.Node().Id(), "")
}
