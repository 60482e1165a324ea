#include "uintx/error.h"

namespace uintx {

Error::~Error() = default;

}  // namespace uintx
