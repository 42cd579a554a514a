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

// boundKeys are the keywords that bound numbers.
var boundKeys = []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}

// compileBounds reads minimum, maximum, exclusiveMinimum and
// exclusiveMaximum: integer bounds for integers, decimal bounds for other
// numbers.
func compileBounds(n *node, s map[string]any, at string) error {
	if !has(s, boundKeys...) || n.types&(kindNumber|kindInteger) == 0 {
		return nil
	}
	vals := map[string]*big.Rat{}
	for _, k := range boundKeys {
		v, ok := s[k]
		if !ok {
			continue
		}
		num, ok := v.(json.Number)
		r, rok := new(big.Rat).SetString(string(num))
		if !ok || !rok {
			return fmt.Errorf("%w: %s/%s must be a number", ErrSchema, at, k)
		}
		vals[k] = r
	}
	if n.types&kindNumber != 0 {
		return compileDecimalBounds(n, vals, at)
	}
	b := &intBounds{min: -math.MaxInt64, max: math.MaxInt64}
	for k, r := range vals {
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

// splitInt reads an integer being written ("-", "-12", "0"...): its sign,
// the magnitude of its digits, and how many there are.
func splitInt(text string) (neg bool, mag int64, digits int) {
	if neg = len(text) > 0 && text[0] == '-'; neg {
		text = text[1:]
	}
	for _, c := range []byte(text) {
		mag = mag*10 + int64(c-'0')
	}
	return neg, mag, len(text)
}

// viable reports whether an integer being written can still end within
// the bounds.
func (b *intBounds) viable(text string) bool {
	neg, mag, digits := splitInt(text)
	if digits == 0 { // just "-": any magnitude may follow
		return b.min <= 0
	}
	if digits > maxBoundedDigits {
		return false
	}
	longest := maxBoundedDigits - digits
	if mag == 0 { // JSON allows no digit after a leading 0
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
func (b *intBounds) contains(text string) bool {
	neg, mag, _ := splitInt(text)
	v := mag
	if neg {
		v = -mag
	}
	return v >= b.min && v <= b.max
}

// decBounds are a number schema's bounds; a nil end is open.
type decBounds struct {
	min, max         *big.Rat
	minExcl, maxExcl bool
}

func compileDecimalBounds(n *node, vals map[string]*big.Rat, at string) error {
	b := &decBounds{}
	for k, r := range vals {
		switch k {
		case "minimum", "exclusiveMinimum":
			excl := k == "exclusiveMinimum"
			if c := cmpNil(b.min, r); b.min == nil || c < 0 || c == 0 && excl {
				b.min, b.minExcl = r, excl
			}
		case "maximum", "exclusiveMaximum":
			excl := k == "exclusiveMaximum"
			if c := cmpNil(b.max, r); b.max == nil || c > 0 || c == 0 && excl {
				b.max, b.maxExcl = r, excl
			}
		}
	}
	if b.min != nil && b.max != nil {
		if c := b.min.Cmp(b.max); c > 0 || c == 0 && (b.minExcl || b.maxExcl) {
			return fmt.Errorf("%w: %s: no number lies between the bounds", ErrSchema, at)
		}
	}
	n.decBounds = b
	return nil
}

// cmpNil compares a with b, where a may be nil (then 0).
func cmpNil(a, b *big.Rat) int {
	if a == nil {
		return 0
	}
	return a.Cmp(b)
}

// endpoint is one end of an interval: a value, or none (unbounded), and
// whether the value itself belongs.
type endpoint struct {
	v      *big.Rat
	closed bool
}

// overlaps reports whether [lo, hi] (each end open or closed, nil
// unbounded) meets the bounds.
func (b *decBounds) overlaps(lo, hi endpoint) bool {
	if b.min != nil && (lo.v == nil || b.min.Cmp(lo.v) > 0 || b.min.Cmp(lo.v) == 0 && b.minExcl) {
		lo = endpoint{b.min, !b.minExcl}
	}
	if b.max != nil && (hi.v == nil || b.max.Cmp(hi.v) < 0 || b.max.Cmp(hi.v) == 0 && b.maxExcl) {
		hi = endpoint{b.max, !b.maxExcl}
	}
	if lo.v == nil || hi.v == nil {
		return true
	}
	c := lo.v.Cmp(hi.v)
	return c < 0 || c == 0 && lo.closed && hi.closed
}

// viable reports whether a decimal being written (text so far: a sign,
// digits, perhaps a point and more digits; never an exponent) can still end
// within the bounds. room is how many more bytes it may take.
func (b *decBounds) viable(text string, room int) bool {
	neg := len(text) > 0 && text[0] == '-'
	digits := text
	if neg {
		digits = text[1:]
	}
	if digits == "" { // just "-": zero or any negative number
		return b.overlaps(endpoint{}, endpoint{new(big.Rat), true})
	}
	if room <= 0 { // no more bytes: only the text's own value
		return b.contains(text)
	}
	whole, frac, dot := cutDot(digits)
	v, _ := new(big.Rat).SetString(whole)
	// The magnitudes the text can still become, as [lo, hi) intervals.
	var spans [][2]*big.Rat
	switch {
	case dot:
		lo, _ := new(big.Rat).SetString(whole + "." + frac + "0")
		step := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
		spans = append(spans, [2]*big.Rat{lo, new(big.Rat).Add(lo, step)})
	case whole == "0":
		spans = append(spans, [2]*big.Rat{new(big.Rat), big.NewRat(1, 1)})
	default:
		lo, width := new(big.Rat).Set(v), big.NewRat(1, 1)
		for j := 0; j <= room; j++ { // j more integer digits
			spans = append(spans, [2]*big.Rat{new(big.Rat).Set(lo), new(big.Rat).Add(lo, width)})
			lo.Mul(lo, big.NewRat(10, 1))
			width.Mul(width, big.NewRat(10, 1))
		}
	}
	for _, sp := range spans {
		lo, hi := endpoint{sp[0], true}, endpoint{sp[1], false}
		if neg {
			lo, hi = endpoint{new(big.Rat).Neg(sp[1]), false}, endpoint{new(big.Rat).Neg(sp[0]), true}
		}
		if b.overlaps(lo, hi) {
			return true
		}
	}
	return false
}

// contains reports whether a finished decimal lies within the bounds.
func (b *decBounds) contains(text string) bool {
	v, ok := new(big.Rat).SetString(text)
	if !ok {
		return false
	}
	e := endpoint{v, true}
	return b.overlaps(e, e)
}

func cutDot(s string) (whole, frac string, dot bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
