# AGENTRT_CUDA=AUTO enables the CUDA backend when a toolkit is found, ON requires it, OFF skips it.
# The result is AGENTRT_HAVE_CUDA; without it the CPU backend is the only one.
#
# The device code is built for CMAKE_CUDA_ARCHITECTURES, by default Ampere and Hopper machine code
# plus Hopper PTX (which the driver compiles for newer GPUs); override it with
# -DCMAKE_CUDA_ARCHITECTURES=90 (one architecture builds faster while iterating).
# The CUDA runtime is linked statically and cuBLAS dynamically (libcublas does not need the driver
# library to load), so a binary built with CUDA starts on a machine without a GPU or driver and
# runs on the CPU.
set(AGENTRT_HAVE_CUDA OFF)
string(TOUPPER "${AGENTRT_CUDA}" _agentrt_cuda)
if(_agentrt_cuda STREQUAL "ON" OR _agentrt_cuda STREQUAL "AUTO")
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual" CACHE STRING
        "CUDA architectures of the device code")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  find_package(CUDAToolkit QUIET)
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND)
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA 20 flags for nvcc
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(AGENTRT_HAVE_CUDA ON)
  elseif(_agentrt_cuda STREQUAL "ON")
    message(FATAL_ERROR "AGENTRT_CUDA=ON but no CUDA compiler/toolkit was found")
  endif()
elseif(NOT _agentrt_cuda STREQUAL "OFF")
  message(FATAL_ERROR "AGENTRT_CUDA must be AUTO, ON or OFF (got '${AGENTRT_CUDA}')")
endif()
if(AGENTRT_HAVE_CUDA)
  message(STATUS "agentrt: CUDA backend ON (AGENTRT_CUDA=${AGENTRT_CUDA}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES}, toolkit ${CUDAToolkit_VERSION})")
else()
  message(STATUS "agentrt: CUDA backend OFF (AGENTRT_CUDA=${AGENTRT_CUDA})")
endif()
