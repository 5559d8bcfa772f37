#include "shardproxy/catalog/topology.h"

namespace shardproxy::catalog {

const User* Topology::findUser(std::string_view name) const {
  for (const auto& u : users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

}  // namespace shardproxy::catalog
