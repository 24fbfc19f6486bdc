# `cmake --install`: the headers, the libraries, the `agentrt` command and a CMake package, so
# that a separate project can do
#   find_package(agentrt REQUIRED)
#   target_link_libraries(app PRIVATE agentrt::agentrt)
# (tested by tests/install: it installs to a temporary prefix and builds examples/embed).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# agentrt::agentrt: everything an embedding program needs (engine, tools, built-in plugins, the
# agent loop, the server's handlers).
add_library(agentrt_all INTERFACE)
set_target_properties(agentrt_all PROPERTIES EXPORT_NAME agentrt)
target_link_libraries(agentrt_all INTERFACE
  agentrt_engine agentrt_tools agentrt_plugins agentrt_agent agentrt_server)

# Every library those link, static ones included (a static library's private dependencies are
# link dependencies of its users).
set(AGENTRT_INSTALL_TARGETS agentrt_all agentrt_engine agentrt_tools agentrt_plugins
    agentrt_agent agentrt_server agentrt_plugin_sqlite agentrt_search_index agentrt_warnings
    agentrt_arch)
foreach(p IN ITEMS calculator solver sql search simulate)
  if(TARGET agentrt_plugin_${p})
    list(APPEND AGENTRT_INSTALL_TARGETS agentrt_plugin_${p})
  endif()
endforeach()
foreach(t IN LISTS AGENTRT_INSTALL_TARGETS)
  if(NOT t STREQUAL "agentrt_all")
    string(REGEX REPLACE "^agentrt_" "" name ${t})
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
  endif()
endforeach()

install(TARGETS ${AGENTRT_INSTALL_TARGETS} EXPORT agentrtTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/agentrt DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT agentrtTargets NAMESPACE agentrt::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/agentrt)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/agentrtConfig.cmake.in
  ${PROJECT_BINARY_DIR}/agentrtConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/agentrt)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/agentrtConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/agentrtConfig.cmake ${PROJECT_BINARY_DIR}/agentrtConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/agentrt)

# The default model and its card, where `agentrt` looks for them next to an installed program
# (<prefix>/share/agentrt/models; see cli/options.h default_model_path).
install(FILES ${PROJECT_SOURCE_DIR}/models/agentrt-tiny.gguf ${PROJECT_SOURCE_DIR}/models/MODEL_CARD.md
  DESTINATION ${CMAKE_INSTALL_DATADIR}/agentrt/models)
