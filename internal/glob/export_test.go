package glob

// MatchFold is the rune-by-rune matcher, for the tests.
var MatchFold = matchFold
