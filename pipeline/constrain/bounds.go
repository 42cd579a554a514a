package constrain

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
)

// maxBoundedDigits is the most digits a bounded integer may have, so that
// its value fits an int64.
const maxBoundedDigits = 18

// intBounds are an integer schema's minimum and maximum, inclusive.
type intBounds struct {
	min, max int64
}

// compileBounds reads minimum, maximum, exclusiveMinimum and
// exclusiveMaximum. They are enforced on integers only: on other numbers
// they are an error, since a prefix of a decimal cannot be checked as it
// is written.
func compileBounds(n *node, s map[string]any, at string) error {
	keys := []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
	if !has(s, keys...) {
		return nil
	}
	if n.types&kindNumber != 0 || n.types&kindInteger == 0 {
		return fmt.Errorf("%w: %s: minimum and maximum are supported on integers only", ErrSchema, at)
	}
	b := &intBounds{min: -math.MaxInt64, max: math.MaxInt64}
	for _, k := range keys {
		v, ok := s[k]
		if !ok {
			continue
		}
		num, ok := v.(json.Number)
		r, rok := new(big.Rat).SetString(string(num))
		if !ok || !rok {
			return fmt.Errorf("%w: %s/%s must be a number", ErrSchema, at, k)
		}
		switch k {
		case "minimum":
			b.min = max(b.min, ceilInt(r))
		case "exclusiveMinimum":
			b.min = max(b.min, floorInt(r)+1)
		case "maximum":
			b.max = min(b.max, floorInt(r))
		case "exclusiveMaximum":
			b.max = min(b.max, ceilInt(r)-1)
		}
	}
	if b.min > b.max {
		return fmt.Errorf("%w: %s: no integer lies between the bounds", ErrSchema, at)
	}
	n.bounds = b
	return nil
}

// floorInt and ceilInt round r to an int64, clamped to ±MaxInt64.
func floorInt(r *big.Rat) int64 {
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive denominator
	return clamp(q)
}

func ceilInt(r *big.Rat) int64 {
	q := new(big.Int).Div(new(big.Int).Neg(r.Num()), r.Denom())
	return clamp(new(big.Int).Neg(q))
}

func clamp(q *big.Int) int64 {
	switch {
	case q.Cmp(big.NewInt(math.MaxInt64)) > 0:
		return math.MaxInt64
	case q.Cmp(big.NewInt(-math.MaxInt64)) < 0:
		return -math.MaxInt64
	}
	return q.Int64()
}

// viable reports whether an integer being written (negative or not, its
// digits so far worth mag, digits of them, the first a 0 when zero is
// set) can still end within the bounds.
func (b *intBounds) viable(neg bool, mag int64, digits int, zero bool) bool {
	if digits == 0 { // just "-": any magnitude may follow
		return b.min <= 0
	}
	longest := maxBoundedDigits - digits
	if zero { // JSON allows no digit after a leading 0
		longest = 0
	}
	lo, span := mag, int64(1) // magnitudes mag·10^j … mag·10^j + 10^j − 1
	for j := 0; j <= longest; j++ {
		hi := lo + span - 1
		vlo, vhi := lo, hi
		if neg {
			vlo, vhi = -hi, -lo
		}
		if vhi >= b.min && vlo <= b.max {
			return true
		}
		lo, span = lo*10, span*10
	}
	return false
}

// contains reports whether a finished integer lies within the bounds.
func (b *intBounds) contains(neg bool, mag int64) bool {
	v := mag
	if neg {
		v = -mag
	}
	return v >= b.min && v <= b.max
}
