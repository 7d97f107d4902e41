// esbuild bundles the stylesheet imported by main.tsx into assets/app-<hash>.css.
declare module "*.css";
