// GMime behind message/mime.h. Field values are set as raw values: GMime
// would otherwise re-encode them (RFC 2047 words for UTF-8), which an
// SMTPUTF8 message must not have and which changes bytes callers chose.
#include "message/mime.h"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "common/ascii.h"

namespace tlsrelay {
namespace {

struct GObjectUnref {
  void operator()(void* object) const {
    if (object) g_object_unref(object);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

void initGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string singleLine(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  return out;
}

void appendField(GMimeObject* object, const MimeField& field) {
  // The placeholder value is replaced at once; GMime needs the header to exist first.
  g_mime_object_append_header(object, field.name.c_str(), "", nullptr);
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  int last = g_mime_header_list_get_count(list) - 1;
  GMimeHeader* header = g_mime_header_list_get_header_at(list, last);
  g_mime_header_set_raw_value(header, (" " + singleLine(field.value) + "\n").c_str());
}

GMimeContentEncoding toGMime(MimeEncoding encoding) {
  switch (encoding) {
    case MimeEncoding::SevenBit:
      return GMIME_CONTENT_ENCODING_7BIT;
    case MimeEncoding::EightBit:
      return GMIME_CONTENT_ENCODING_8BIT;
    case MimeEncoding::Base64:
      return GMIME_CONTENT_ENCODING_BASE64;
    case MimeEncoding::QuotedPrintable:
      return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
  }
  return GMIME_CONTENT_ENCODING_7BIT;
}

GMimePart* newLeaf(const MimeLeafPart& spec) {
  GMimePart* part = g_mime_part_new_with_type(spec.type.c_str(), spec.subtype.c_str());
  for (const auto& [name, value] : spec.params)
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), name.c_str(), singleLine(value).c_str());
  for (const auto& field : spec.fields) appendField(GMIME_OBJECT(part), field);
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(spec.content.data(), spec.content.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, wrapper.get());
  g_mime_part_set_content_encoding(part, toGMime(spec.encoding));
  if (!spec.filename.empty()) g_mime_part_set_filename(part, singleLine(spec.filename).c_str());
  return part;
}

std::string bytesOf(GMimeStream* stream) {
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
  return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

std::string writeCrlf(GMimeObject* object) {
  GMimeFormatOptions* options = g_mime_format_options_clone(nullptr);
  g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  g_mime_object_write_to_stream(object, options, out.get());
  g_mime_format_options_free(options);
  return bytesOf(out.get());
}

std::string lower(const char* s) {
  return lowerAscii(s ? s : "");
}

void readContentType(GMimeObject* object, std::string& type,
                     std::vector<std::pair<std::string, std::string>>& params) {
  GMimeContentType* ct = g_mime_object_get_content_type(object);
  if (!ct) return;
  type =
      lower(g_mime_content_type_get_media_type(ct)) + "/" + lower(g_mime_content_type_get_media_subtype(ct));
  GMimeParamList* list = g_mime_content_type_get_parameters(ct);
  for (int i = 0; list && i < g_mime_param_list_length(list); ++i) {
    GMimeParam* param = g_mime_param_list_get_parameter_at(list, i);
    const char* value = g_mime_param_get_value(param);
    params.emplace_back(lower(g_mime_param_get_name(param)), value ? value : "");
  }
}

void collectLeaves(GMimeObject* object, std::vector<ParsedMimePart>& out) {
  if (GMIME_IS_MULTIPART(object)) {
    auto* multipart = GMIME_MULTIPART(object);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i)
      collectLeaves(g_mime_multipart_get_part(multipart, i), out);
    return;
  }
  ParsedMimePart leaf;
  readContentType(object, leaf.content_type, leaf.params);
  if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    if (inner) leaf.content = writeCrlf(GMIME_OBJECT(inner));
  } else if (GMIME_IS_PART(object)) {
    auto* part = GMIME_PART(object);
    if (const char* name = g_mime_part_get_filename(part)) leaf.filename = name;
    if (GMimeDataWrapper* wrapper = g_mime_part_get_content(part)) {
      GPtr<GMimeStream> decoded(g_mime_stream_mem_new());
      g_mime_data_wrapper_write_to_stream(wrapper, decoded.get());
      leaf.content = bytesOf(decoded.get());
    }
  }
  out.push_back(std::move(leaf));
}

}  // namespace

std::string writeMimeMessage(const MimeMultipartMessage& message) {
  initGMime();
  GPtr<GMimeMessage> top(g_mime_message_new(FALSE));
  for (const auto& field : message.fields) appendField(GMIME_OBJECT(top.get()), field);
  GPtr<GMimeMultipart> multipart(g_mime_multipart_new_with_subtype(message.subtype.c_str()));
  for (const auto& [name, value] : message.params)
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(multipart.get()), name.c_str(),
                                             singleLine(value).c_str());
  g_mime_multipart_set_boundary(multipart.get(),
                                message.boundary.empty() ? nullptr : message.boundary.c_str());
  if (!message.prologue.empty()) g_mime_multipart_set_prologue(multipart.get(), message.prologue.c_str());
  for (const auto& spec : message.parts) {
    GPtr<GMimePart> part(newLeaf(spec));
    g_mime_multipart_add(multipart.get(), GMIME_OBJECT(part.get()));
  }
  g_mime_message_set_mime_part(top.get(), GMIME_OBJECT(multipart.get()));
  return writeCrlf(GMIME_OBJECT(top.get()));
}

std::optional<ParsedMimeMessage> parseMimeMessage(std::string_view bytes) {
  initGMime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) return std::nullopt;
  ParsedMimeMessage out;
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message.get()));
  for (int i = 0; i < g_mime_header_list_get_count(headers); ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(headers, i);
    const char* value = g_mime_header_get_value(header);
    out.fields.push_back({g_mime_header_get_name(header), value ? value : ""});
  }
  GMimeObject* body = g_mime_message_get_mime_part(message.get());
  if (!body) return out;
  readContentType(body, out.content_type, out.params);
  collectLeaves(body, out.leaves);
  return out;
}

namespace {

void collectMailboxes(InternetAddressList* list, std::vector<std::string>& out) {
  int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(address)) {
      collectMailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), out);
      continue;
    }
    const char* spec = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
    if (spec != nullptr && std::string_view(spec).find('@') != std::string_view::npos) out.emplace_back(spec);
  }
}

}  // namespace

std::vector<std::string> parseMailboxList(std::string_view value) {
  initGMime();
  std::vector<std::string> out;
  std::string text = singleLine(value);
  GPtr<InternetAddressList> list(internet_address_list_parse(nullptr, text.c_str()));
  if (list) collectMailboxes(list.get(), out);
  return out;
}

}  // namespace tlsrelay
