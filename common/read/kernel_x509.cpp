#include "common/read/kernel_x509.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "common/read/handles.h"

namespace imab {
namespace {

// The contents of one DER TLV (header stripped); empty when malformed.
std::string DerContent(const std::string& der) {
  if (der.size() < 2) {
    return {};
  }
  size_t header = 2;
  const auto first_length = static_cast<uint8_t>(der[1]);
  if (first_length >= 0x80) {
    header += static_cast<size_t>(first_length & 0x7f);
  }
  return header <= der.size() ? der.substr(header) : std::string();
}

template <class T, class Encoder>
std::string ContentOf(const T* value, Encoder encode) {
  if (value == nullptr) {
    return {};
  }
  unsigned char* buffer = nullptr;
  // The encoders take non-const pointers but do not modify the value.
  const int length = encode(const_cast<T*>(value), &buffer);
  OpenSslBuffer<unsigned char> owned(buffer);
  if (length <= 0) {
    ERR_clear_error();
    return {};
  }
  return DerContent(std::string(reinterpret_cast<const char*>(buffer),
                                static_cast<size_t>(length)));
}

// An X509_NAME keeps the bytes it was parsed from: the kernel's raw name.
std::string NameContent(const X509_NAME* name) {
  return ContentOf(name, i2d_X509_NAME);
}

std::string IntegerContent(const ASN1_INTEGER* value) {
  return ContentOf(value, i2d_ASN1_INTEGER);
}

std::string OctetString(const ASN1_OCTET_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

Ptr<AUTHORITY_KEYID> AkidOf(const X509* cert) {
  int critical = 0;
  Ptr<AUTHORITY_KEYID> akid(static_cast<AUTHORITY_KEYID*>(X509_get_ext_d2i(
      cert, NID_authority_key_identifier, &critical, nullptr)));
  ERR_clear_error();
  return akid;
}

uint8_t At(const std::string& bytes, size_t i) {
  return static_cast<uint8_t>(bytes[i]);
}

// Two decimal digits at `p`, or -1.
int TwoDigits(const unsigned char* p) {
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') {
    return -1;
  }
  return (p[0] - '0') * 10 + (p[1] - '0');
}

bool IsLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

}  // namespace

KernelSkid KernelSkidOf(const X509* cert) {
  KernelSkid skid;
  std::optional<std::string> v =
      ExtensionBytes(cert, NID_subject_key_identifier);
  if (!v.has_value()) {
    return skid;
  }
  skid.present = true;
  // x509_process_extension: at least 3 bytes, OCTET STRING, short length.
  if (v->size() < 3 || At(*v, 0) != V_ASN1_OCTET_STRING ||
      static_cast<size_t>(At(*v, 1)) != v->size() - 2) {
    skid.malformed = true;
    return skid;
  }
  skid.bytes = v->substr(2);
  return skid;
}

KernelKeyIds KernelKeyIdsOf(const X509* cert) {
  KernelKeyIds ids;
  ids.id0 = IntegerContent(X509_get0_serialNumber(cert)) +
            NameContent(X509_get_issuer_name(cert));
  KernelSkid skid = KernelSkidOf(cert);
  if (skid.present && !skid.malformed) {
    ids.id1 = skid.bytes;
  }
  ids.id2 = NameContent(X509_get_subject_name(cert));
  return ids;
}

KernelAuthIds KernelAuthIdsOf(const X509* cert) {
  KernelAuthIds ids;
  ids.a2 = NameContent(X509_get_issuer_name(cert));
  Ptr<AUTHORITY_KEYID> akid = AkidOf(cert);
  if (akid == nullptr) {
    return ids;
  }
  if (akid->keyid != nullptr) {
    ids.a1 = OctetString(akid->keyid);
  }
  // x509_akid_note_name keeps the last directoryName it meets.
  const X509_NAME* directory = nullptr;
  for (int i = 0; i < sk_GENERAL_NAME_num(akid->issuer); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(akid->issuer, i);
    if (name->type == GEN_DIRNAME) {
      directory = name->d.directoryName;
    }
  }
  if (directory != nullptr && akid->serial != nullptr) {
    ids.a0 = IntegerContent(akid->serial) + NameContent(directory);
  }
  return ids;
}

std::optional<std::string> ExtensionBytes(const X509* cert, int nid) {
  const int index = X509_get_ext_by_NID(cert, nid, -1);
  if (index < 0) {
    return std::nullopt;
  }
  return OctetString(X509_EXTENSION_get_data(X509_get_ext(cert, index)));
}

std::string KernelTimeProblem(const ASN1_TIME* time) {
  const int type = ASN1_STRING_type(time);
  const unsigned char* p = ASN1_STRING_get0_data(time);
  const int length = ASN1_STRING_length(time);
  int year = 0;
  if (type == V_ASN1_UTCTIME && length == 13) {
    year = TwoDigits(p);
    year += year < 0 ? 0 : (year >= 50 ? 1900 : 2000);
    p += 2;
  } else if (type == V_ASN1_GENERALIZEDTIME && length == 15) {
    const int century = TwoDigits(p);
    const int rest = TwoDigits(p + 2);
    year = century < 0 || rest < 0 ? -1 : century * 100 + rest;
    if (year >= 1950 && year <= 2049) {
      return "GeneralizedTime for a year before 2050";
    }
    p += 4;
  } else {
    return "not a 13-character UTCTime or 15-character GeneralizedTime";
  }
  std::array<int, 5> f{};  // month, day, hour, minute, second
  for (int& v : f) {
    v = TwoDigits(p);
    p += 2;
  }
  if (year < 0 || *p != 'Z' ||
      std::any_of(f.begin(), f.end(), [](int v) { return v < 0; })) {
    return "not all digits, or no trailing Z";
  }
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                31, 31, 30, 31, 30, 31};
  if (year < 1970) {
    return "a year before 1970";
  }
  if (f[0] < 1 || f[0] > 12) {
    return "no such month";
  }
  const int month_days = kDays[static_cast<size_t>(f[0] - 1)] +
                         (f[0] == 2 && IsLeapYear(year) ? 1 : 0);
  if (f[1] < 1 || f[1] > month_days || f[2] > 24 || f[3] > 59 || f[4] > 60) {
    return "no such day or time of day";
  }
  return {};
}

KernelUsageFlags KernelUsageFlagsOf(const X509* cert) {
  KernelUsageFlags flags;
  if (std::optional<std::string> v = ExtensionBytes(cert, NID_key_usage)) {
    // A BIT STRING with its unused-bit count and at least one byte.
    if (v->size() < 4 || At(*v, 0) != V_ASN1_BIT_STRING || At(*v, 2) >= 8) {
      flags.problem = "keyUsage is not a BIT STRING of 1 or 2 bytes";
    } else {
      flags.digital_signature = (At(*v, 3) & 0x80) != 0;
      // The parser finds keyCertSign only where a short encoding can hold
      // it (bit 5 of the first byte).
      flags.key_cert_sign =
          (At(*v, 3) & 0x04) != 0 && ((At(*v, 1) == 2 && At(*v, 2) <= 2) ||
                                      (v->size() > 4 && At(*v, 1) == 3));
    }
  }
  if (std::optional<std::string> v =
          ExtensionBytes(cert, NID_basic_constraints)) {
    const bool sequence = v->size() >= 2 && At(*v, 0) == 0x30 &&
                          static_cast<size_t>(At(*v, 1)) == v->size() - 2;
    if (!sequence) {
      flags.problem = "basicConstraints is not a short SEQUENCE";
    } else if (At(*v, 1) != 0) {
      // Non-empty: it must start with cA TRUE (DER omits a FALSE one).
      if (v->size() >= 5 && At(*v, 2) == V_ASN1_BOOLEAN && At(*v, 3) == 1 &&
          At(*v, 4) == 0xff) {
        flags.ca = true;
      } else {
        flags.problem =
            "basicConstraints is neither empty nor starts with cA TRUE "
            "(e.g. a pathLenConstraint without cA)";
      }
    }
  }
  return flags;
}

bool AkidIssuerHasOtherNames(const X509* cert) {
  Ptr<AUTHORITY_KEYID> akid = AkidOf(cert);
  if (akid == nullptr) {
    return false;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(akid->issuer); ++i) {
    if (sk_GENERAL_NAME_value(akid->issuer, i)->type != GEN_DIRNAME) {
      return true;
    }
  }
  return false;
}

}  // namespace imab
