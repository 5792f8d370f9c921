#include "verifier/boot/grubenv.h"

#include <algorithm>
#include <set>

namespace imab::verifier {

namespace {

Error Damaged(const std::string& where, size_t offset,
              const std::string& what) {
  return MakeError(ErrorCode::kMalformed,
                   where + ": byte " + std::to_string(offset) + ": " + what);
}

// Where the line starting at `pos` ends (its '\n'), skipping a backslash
// and the byte after it as GRUB's find_next_line does; npos when the block
// ends first.
size_t LineEnd(std::string_view block, size_t pos) {
  while (pos < block.size()) {
    if (block[pos] == '\\') {
      pos += 2;
    } else if (block[pos] == '\n') {
      return pos;
    } else {
      ++pos;
    }
  }
  return std::string_view::npos;
}

std::string Unescape(std::string_view escaped) {
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    // LineEnd() guarantees a byte after every backslash of the line.
    out.push_back(escaped[i] == '\\' ? escaped[++i] : escaped[i]);
  }
  return out;
}

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '\n') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.front() != '#' &&
         name.find_first_of(std::string_view("=\n\0", 3)) ==
             std::string_view::npos;
}

// One NAME=VALUE line at `pos`, ending at `end` (its '\n').
Result<GrubEnv::Item> ParseVariable(std::string_view block, size_t pos,
                                    size_t end, const std::string& where) {
  std::string_view line = block.substr(pos, end - pos);
  size_t equals = line.find('=');
  // GRUB would read a name running on over the newline up to the next '='
  // (two lines as one variable): no line of ours or grub-editenv's.
  if (equals == std::string_view::npos) {
    return Damaged(where, pos, "a line without '='");
  }
  if (equals == 0) {
    return Damaged(where, pos, "a variable without a name");
  }
  // GRUB's values are C strings: a NUL would cut what it reads.
  if (line.find('\0') != std::string_view::npos) {
    return Damaged(where, pos, "a NUL byte in a variable");
  }
  GrubEnv::Item item;
  item.name = std::string(line.substr(0, equals));
  item.value = Unescape(line.substr(equals + 1));
  return item;
}

}  // namespace

Result<GrubEnv> GrubEnv::Parse(std::string_view block,
                               const std::string& where) {
  if (block.size() != kGrubEnvBytes) {
    return MakeError(ErrorCode::kMalformed,
                     where + ": " + std::to_string(block.size()) +
                         " bytes, a GRUB environment block has " +
                         std::to_string(kGrubEnvBytes));
  }
  if (block.substr(0, kGrubEnvSignature.size()) != kGrubEnvSignature) {
    return MakeError(ErrorCode::kMalformed,
                     where +
                         ": not a GRUB environment block (no \"# GRUB "
                         "Environment Block\" line)");
  }
  GrubEnv env;
  std::set<std::string, std::less<>> names;
  size_t pos = kGrubEnvSignature.size();
  while (pos < block.size()) {
    size_t end = LineEnd(block, pos);
    if (end == std::string_view::npos) {
      // The free space save_env fills: only '#' up to the end.
      if (block.find_first_not_of('#', pos) != std::string_view::npos) {
        return Damaged(where, pos, "a last line without its newline");
      }
      break;
    }
    if (block[pos] == '#') {
      env.items_.push_back(
          Item{true, {}, {}, std::string(block.substr(pos, end + 1 - pos))});
    } else {
      IMAB_ASSIGN_OR_RETURN(Item item, ParseVariable(block, pos, end, where));
      // GRUB's load_env takes the last, its save_env rewrites the first.
      if (!names.insert(item.name).second) {
        return Damaged(where, pos, "the variable " + item.name + " twice");
      }
      env.items_.push_back(std::move(item));
    }
    pos = end + 1;
  }
  return env;
}

const std::string* GrubEnv::Find(std::string_view name) const {
  for (const Item& item : items_) {
    if (!item.comment && item.name == name) {
      return &item.value;
    }
  }
  return nullptr;
}

Status GrubEnv::Set(const std::string& name, const std::string& value) {
  if (!ValidName(name) || value.find('\0') != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "grubenv: cannot hold the variable \"" + name + "\"");
  }
  for (Item& item : items_) {
    if (!item.comment && item.name == name) {
      item.value = value;
      return OkStatus();
    }
  }
  items_.push_back(Item{false, name, value, {}});
  return OkStatus();
}

void GrubEnv::MoveToFront(const std::vector<std::string>& names) {
  std::vector<Item> front;
  for (const std::string& name : names) {
    auto found = std::find_if(items_.begin(), items_.end(), [&](const Item& i) {
      return !i.comment && i.name == name;
    });
    if (found != items_.end()) {
      front.push_back(std::move(*found));
      items_.erase(found);
    }
  }
  items_.insert(items_.begin(), std::make_move_iterator(front.begin()),
                std::make_move_iterator(front.end()));
}

Result<std::string> GrubEnv::Render() const {
  std::string block(kGrubEnvSignature);
  for (const Item& item : items_) {
    block +=
        item.comment ? item.text : item.name + "=" + Escape(item.value) + "\n";
  }
  if (block.size() > kGrubEnvBytes) {
    return MakeError(
        ErrorCode::kLimitExceeded,
        "grubenv: the variables need " + std::to_string(block.size()) +
            " bytes, the block holds " + std::to_string(kGrubEnvBytes));
  }
  block.append(kGrubEnvBytes - block.size(), '#');
  return block;
}

}  // namespace imab::verifier
