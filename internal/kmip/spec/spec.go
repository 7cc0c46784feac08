// Package spec holds the KMIP 1.2 tags and enumeration values that the
// client and the in-memory test server speak (KMIP 1.2 §9.1.3), so that
// both read the same numbers.
package spec

import "github.com/catsync/catsync/internal/kmip/ttlv"

// Tags (§9.1.3.1).
const (
	TagAttribute               ttlv.Tag = 0x420008
	TagAttributeIndex          ttlv.Tag = 0x420009
	TagAttributeName           ttlv.Tag = 0x42000A
	TagAttributeValue          ttlv.Tag = 0x42000B
	TagBatchCount              ttlv.Tag = 0x42000D
	TagBatchErrorContinuation  ttlv.Tag = 0x42000E
	TagBatchItem               ttlv.Tag = 0x42000F
	TagBlockCipherMode         ttlv.Tag = 0x420011
	TagCompromiseOccurrence    ttlv.Tag = 0x420021
	TagCryptographicAlgorithm  ttlv.Tag = 0x420028
	TagCryptographicLength     ttlv.Tag = 0x42002A
	TagCryptographicParameters ttlv.Tag = 0x42002B
	TagKeyBlock                ttlv.Tag = 0x420040
	TagKeyFormatType           ttlv.Tag = 0x420042
	TagKeyMaterial             ttlv.Tag = 0x420043
	TagKeyValue                ttlv.Tag = 0x420045
	TagKeyWrappingSpec         ttlv.Tag = 0x420047
	TagMaximumItems            ttlv.Tag = 0x42004F
	TagTemplateName            ttlv.Tag = 0x420053 // a Name in a Template-Attribute: a template to apply
	TagNameType                ttlv.Tag = 0x420054
	TagNameValue               ttlv.Tag = 0x420055
	TagObjectType              ttlv.Tag = 0x420057
	TagOperation               ttlv.Tag = 0x42005C
	TagPaddingMethod           ttlv.Tag = 0x42005F
	TagProtocolVersion         ttlv.Tag = 0x420069
	TagProtocolVersionMajor    ttlv.Tag = 0x42006A
	TagProtocolVersionMinor    ttlv.Tag = 0x42006B
	TagRequestHeader           ttlv.Tag = 0x420077
	TagRequestMessage          ttlv.Tag = 0x420078
	TagRequestPayload          ttlv.Tag = 0x420079
	TagResponseHeader          ttlv.Tag = 0x42007A
	TagResponseMessage         ttlv.Tag = 0x42007B
	TagResponsePayload         ttlv.Tag = 0x42007C
	TagResultMessage           ttlv.Tag = 0x42007D
	TagResultReason            ttlv.Tag = 0x42007E
	TagResultStatus            ttlv.Tag = 0x42007F
	TagRevocationReason        ttlv.Tag = 0x420081
	TagRevocationReasonCode    ttlv.Tag = 0x420082
	TagStorageStatusMask       ttlv.Tag = 0x42008E
	TagSymmetricKey            ttlv.Tag = 0x42008F
	TagTemplateAttribute       ttlv.Tag = 0x420091
	TagTimeStamp               ttlv.Tag = 0x420092
	TagUniqueBatchItemID       ttlv.Tag = 0x420093
	TagUniqueIdentifier        ttlv.Tag = 0x420094
	TagData                    ttlv.Tag = 0x4200C2
)

// Enumeration values (§9.1.3.2).
const (
	OpCreate        = 0x01
	OpRegister      = 0x03
	OpLocate        = 0x08
	OpGet           = 0x0A
	OpGetAttributes = 0x0B
	OpActivate      = 0x12
	OpRevoke        = 0x13
	OpEncrypt       = 0x1F

	ObjectSymmetricKey  = 0x02
	AlgorithmAES        = 0x03
	FormatRaw           = 0x01
	ModeECB             = 0x02
	PaddingNone         = 0x01
	PaddingPKCS5        = 0x03
	UsageEncrypt        = 0x04
	UsageDecrypt        = 0x08
	UsageEncryptDecrypt = UsageEncrypt | UsageDecrypt
	NameUninterpreted   = 0x01
	StorageOnline       = 0x01

	StatePreActive   = 0x01
	StateActive      = 0x02
	StateDeactivated = 0x03
	StateCompromised = 0x04

	RevokeKeyCompromise = 0x02
	RevokeCACompromise  = 0x03
	RevokeCessation     = 0x06

	BatchContinue = 0x01 // a failed batch item does not stop the others
	BatchStop     = 0x02

	StatusSuccess         = 0x00
	StatusOperationFailed = 0x01
)

// Result reasons. Wrong Key Lifecycle State only came with 2.0: a 1.2
// server refuses a key in the wrong state with Permission Denied
// (Activate, Encrypt) or Illegal Operation (Revoke), as PyKMIP does.
const (
	ReasonItemNotFound              uint32 = 0x01
	ReasonInvalidMessage            uint32 = 0x04
	ReasonOperationNotSupported     uint32 = 0x05
	ReasonInvalidField              uint32 = 0x07
	ReasonFeatureNotSupported       uint32 = 0x08
	ReasonIllegalOperation          uint32 = 0x0B
	ReasonPermissionDenied          uint32 = 0x0C
	ReasonIndexOutOfBounds          uint32 = 0x0E
	ReasonKeyFormatTypeNotSupported uint32 = 0x10
)
