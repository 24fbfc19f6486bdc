# cmake -DBUILD_DIR=... -DEMBED_DIR=... -DWORK_DIR=... -DGENERATOR=... -P install_and_build.cmake
file(REMOVE_RECURSE ${WORK_DIR})

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(f include/agentrt/server/server.h include/agentrt/agent/agent.h
          lib/cmake/agentrt/agentrtConfig.cmake bin/agentrt)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "install: ${f} is missing")
  endif()
endforeach()
step("configure examples/embed" ${CMAKE_COMMAND} -S ${EMBED_DIR} -B ${WORK_DIR}/build
     -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
step("build examples/embed" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step("run agentrt_embed --list-tools" ${WORK_DIR}/build/agentrt_embed --list-tools)
foreach(tool calculator word_count)
  if(NOT step_output MATCHES "${tool}")
    message(FATAL_ERROR "agentrt_embed --list-tools does not list ${tool}:\n${step_output}")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
