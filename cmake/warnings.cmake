# Warnings every agentrt target compiles with; clean under GCC 12 and Clang 14.
add_library(agentrt_warnings INTERFACE)
target_compile_options(agentrt_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough>)

add_library(agentrt_arch INTERFACE)
if(AGENTRT_NATIVE)
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag(-march=native AGENTRT_HAS_MARCH_NATIVE)
  if(AGENTRT_HAS_MARCH_NATIVE)
    target_compile_options(agentrt_arch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  endif()
endif()
