package state

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends v as JSON to b, byte for byte what encoding/json
// writes for it with HTML escaping off, without reflection: the action is
// the body of the API's hottest responses.
func (v *ActionView) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, v.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, v.Type)
	b = append(b, `,"title":`...)
	b = appendNullableString(b, v.Title)
	b = append(b, `,"requestor":`...)
	b = appendJSONString(b, v.Requestor)
	b = append(b, `,"requestorComment":`...)
	b = appendNullableString(b, v.RequestorComment)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, v.Status)
	b = append(b, `,"machineId":`...)
	b = appendJSONString(b, v.MachineID)
	b = append(b, `,"computerDnsName":`...)
	b = appendJSONString(b, v.ComputerDNSName)
	b = append(b, `,"creationDateTimeUtc":`...)
	b = appendTimestamp(b, v.CreationDateTimeUtc)
	b = append(b, `,"lastUpdateDateTimeUtc":`...)
	b = appendTimestamp(b, v.LastUpdateDateTimeUtc)
	b = append(b, `,"cancellationRequestor":`...)
	b = appendNullableString(b, v.CancellationRequestor)
	b = append(b, `,"cancellationComment":`...)
	b = appendNullableString(b, v.CancellationComment)
	b = append(b, `,"cancellationDateTimeUtc":`...)
	b = appendNullableTimestamp(b, v.CancellationDateTimeUtc)
	b = append(b, `,"errorHResult":`...)
	b = strconv.AppendInt(b, int64(v.ErrorHResult), 10)
	b = append(b, `,"scope":`...)
	b = appendNullableString(b, v.Scope)
	b = append(b, `,"externalId":`...)
	b = appendNullableString(b, v.ExternalID)
	b = append(b, `,"requestSource":`...)
	b = appendJSONString(b, v.RequestSource)
	b = append(b, `,"relatedFileInfo":`...)
	b = appendEmptyObject(b, v.RelatedFileInfo != nil)
	b = append(b, `,"commands":`...)
	if v.Commands == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range v.Commands {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Commands[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"troubleshootInfo":`...)
	b = appendEmptyObject(b, v.TroubleshootInfo != nil)
	return append(b, '}')
}

func (c *CommandView) appendJSON(b []byte) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(c.Index), 10)
	b = append(b, `,"startTime":`...)
	b = appendNullableTimestamp(b, c.StartTime)
	b = append(b, `,"endTime":`...)
	b = appendNullableTimestamp(b, c.EndTime)
	b = append(b, `,"commandStatus":`...)
	b = appendJSONString(b, c.CommandStatus)
	b = append(b, `,"errors":`...)
	b = appendStrings(b, c.Errors)
	b = append(b, `,"command":{"type":`...)
	b = appendJSONString(b, c.Command.Type)
	b = append(b, `,"params":`...)
	if c.Command.Params == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range c.Command.Params {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendJSONString(b, p.Key)
			b = append(b, `,"value":`...)
			b = appendJSONString(b, p.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendEmptyObject(b []byte, present bool) []byte {
	if !present {
		return append(b, "null"...)
	}
	return append(b, "{}"...)
}

func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

func appendTimestamp(b []byte, ts Timestamp) []byte {
	b = ts.AppendFormat(append(b, '"'))
	return append(b, '"')
}

func appendNullableTimestamp(b []byte, ts *Timestamp) []byte {
	if ts == nil {
		return append(b, "null"...)
	}
	return appendTimestamp(b, *ts)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json does
// with HTML escaping off: control characters escaped, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
