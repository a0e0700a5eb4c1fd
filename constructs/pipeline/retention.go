package pipeline

import (
	"errors"
	"fmt"
	"maps"
	"slices"

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
