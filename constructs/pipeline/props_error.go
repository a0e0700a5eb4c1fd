package pipeline

import "github.com/leadbridge/leadbridge/internal/validate"

// PropsError is what every construct of this module panics with when its
// props are wrong (CDK constructs throw): Construct names the construct,
// and Err joins one error per problem, each naming the prop and its value.
// An app that builds constructs from input of its own can recover it and
// use errors.As:
//
//	defer func() {
//		if r := recover(); r != nil {
//			var propsErr *pipeline.PropsError
//			if err, ok := r.(error); ok && errors.As(err, &propsErr) {
//				fmt.Fprintln(os.Stderr, propsErr)
//				os.Exit(1)
//			}
//			panic(r)
//		}
//	}()
type PropsError = validate.PropsError
